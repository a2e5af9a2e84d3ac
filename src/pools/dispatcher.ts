// Runs planned actions in the background, each kind under its own concurrency bound, and keeps the
// bookkeeping that stops a plan from acting twice on one runner: what is in flight, and when each
// runner's last action finished relative to the snapshot a plan was made from.
import { Limiter } from "./limiter.js";
import type { InFlight } from "./observe.js";
import type { Action } from "./types.js";

/**
 * A plan made from a snapshot taken at mark `seqAtObserve` is stale for a runner whose last
 * action finished at or after that mark: the snapshot may still show it (a runner just deleted
 * would be "collected" a second time).
 */
export function isStale(finishedSeq: number | undefined, seqAtObserve: number): boolean {
  return finishedSeq !== undefined && finishedSeq >= seqAtObserve;
}

export interface DispatchHooks {
  /** The action threw; the dispatcher has nothing more to do with the error. */
  onError(err: unknown): void;
  /** The action is over, whatever happened: it is no longer in flight. */
  onDone(): void;
}

export type DispatchResult = "started" | "closed" | "in-flight" | "stale" | "retry-later";

/**
 * After an action on a runner threw, the next one on it waits 1 s, doubling to a minute: an
 * action that fails the same way on every pass (passes come several times a second) must not
 * run and log in a hot loop.
 */
export function retryDelayMs(failures: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, failures - 1));
}

/**
 * How many actions of each kind run at once (`spawn_concurrency`, `collect_concurrency`). Collects
 * and deletes have their own bound, so a burst's finished runners are collected at once even
 * while spawns fill every spawn slot (and a hung collection never holds up a spawn).
 */
export interface ActionBounds {
  spawn: number;
  /** Collects and deletes: the actions that remove a runner. */
  collect: number;
}

type Lane = keyof ActionBounds;

const laneOf = (action: Action): Lane => (action.kind === "spawn" ? "spawn" : "collect");

export class Dispatcher {
  private readonly flights = new Map<string, InFlight>();
  /** Mark at which each runner's last action finished (see isStale). */
  private readonly finishedSeq = new Map<string, number>();
  /** Runners whose last action threw: how often in a row, and when the next may start. */
  private readonly failed = new Map<string, { count: number; until: number }>();
  private seq = 0;
  private readonly tasks = new Set<Promise<void>>();
  private readonly limiters: Record<Lane, Limiter>;
  /** A serial per pool's last dispatched spawn: under the host cap, ties go to the pool served least recently. */
  private readonly spawnMarks = new Map<string, number>();
  private spawnSerial = 0;
  private closed = false;

  constructor(
    bounds: ActionBounds,
    private readonly now: () => number,
  ) {
    this.limiters = { spawn: new Limiter(bounds.spawn), collect: new Limiter(bounds.collect) };
  }

  /** A new bound applies to actions dispatched from now on; those under way (or queued) keep counting against the old one. */
  setConcurrency(bounds: ActionBounds): void {
    for (const lane of ["spawn", "collect"] as const) {
      if (bounds[lane] !== this.limiters[lane].limit) this.limiters[lane] = new Limiter(bounds[lane]);
    }
  }

  /** Taken just before a pass observes; hand it back to dispatch (see isStale). */
  mark(): number {
    return this.seq;
  }

  get inFlight(): ReadonlyMap<string, InFlight> {
    return this.flights;
  }

  get lastSpawnAt(): ReadonlyMap<string, number> {
    return this.spawnMarks;
  }

  get busy(): boolean {
    return this.tasks.size > 0;
  }

  dispatch(action: Action, name: string, seqAtObserve: number, run: () => Promise<void>, hooks: DispatchHooks): DispatchResult {
    if (this.closed) return "closed";
    if (this.flights.has(name)) return "in-flight";
    if (isStale(this.finishedSeq.get(name), seqAtObserve)) return "stale";
    if ((this.failed.get(name)?.until ?? 0) > this.now()) return "retry-later";
    const member = action.kind === "spawn" && action.target !== undefined && !action.target.startsWith("@") ? { member: action.target } : {};
    this.flights.set(name, { kind: action.kind, pool: action.pool, startedAt: this.now(), ...member });
    // A serial, not the time: spawns dispatched in one pass must still be told apart.
    if (action.kind === "spawn") this.spawnMarks.set(action.pool, ++this.spawnSerial);
    // Queued behind its kind's bound; one still waiting when the dispatcher closes never starts.
    const task = this.limiters[laneOf(action)]
      .run(run, () => this.closed)
      .then(
        () => {
          this.failed.delete(name);
        },
        (err: unknown) => {
          const count = (this.failed.get(name)?.count ?? 0) + 1;
          this.failed.set(name, { count, until: this.now() + retryDelayMs(count) });
          hooks.onError(err);
        },
      )
      .finally(() => {
        this.finishedSeq.set(name, this.seq++);
        this.flights.delete(name);
        this.tasks.delete(task);
        hooks.onDone();
      });
    this.tasks.add(task);
    return "started";
  }

  /** Dispatches nothing more (shutdown); actions under way go on, queued ones are dropped unstarted. */
  close(): void {
    this.closed = true;
  }

  /** Resolves once no action is under way, including ones that finish into new ones. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** Keeps finish marks only for runners LXD still lists or that are in flight; the rest can go. */
  forget(present: ReadonlySet<string>): void {
    if (this.finishedSeq.size < 256) return;
    for (const name of this.finishedSeq.keys()) if (!present.has(name) && !this.flights.has(name)) this.finishedSeq.delete(name);
    for (const name of this.failed.keys()) if (!present.has(name) && !this.flights.has(name)) this.failed.delete(name);
  }
}
