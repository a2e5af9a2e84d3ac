// Per-pool backoff: a pool whose spawns fail, or whose runners end without running a job (a
// revoked token, a full disk, a broken image, a self-update gone wrong, a runner version GitHub
// refuses), waits before it spawns again instead of recreating runners in a hot loop.
// Exponential with equal jitter, capped; the clock and the random source are injected so tests
// are deterministic.
import type { ObservedRunner } from "./types.js";

export interface BackoffPolicy {
  /** Longest wait after the first failure. */
  baseMs: number;
  /** Longest wait after any number of failures. */
  capMs: number;
  /**
   * How long a runner made after the failure must stay listening before the pool counts as
   * working again. Listening alone is no proof: a runner GitHub refuses as deprecated is refused
   * right after "Listening for Jobs", and a self-update arrives on the first long poll (50 s).
   */
  stableIdleMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 1000, capMs: 60_000, stableIdleMs: 90_000 };

type Bounds = Pick<BackoffPolicy, "baseMs" | "capMs">;

export interface BackoffClock {
  now(): number;
  /** Uniform in [0, 1), like Math.random. */
  random(): number;
}

/** A pool's failures since it last worked. */
export interface PoolFailure {
  /** Failures in a row (terminal ones count as reaching the cap at once). */
  count: number;
  /** When the most recent failure happened (ms since the epoch). */
  at: number;
  /** No spawn for the pool before this time. */
  until: number;
  message: string;
  terminal: boolean;
  /** When the pool began failing (its first failure since it last worked). */
  since: number;
  /**
   * What kind of failure, for metrics and for telling a new failure from the same one again:
   * `spawn-lxd`, `spawn-github`, `spawn-other` or `runner-<outcome>`.
   */
  reason: string;
  /** The message with what differs between attempts (the runner's name) taken out. */
  key: string;
}

/** A failure as the caller reports it: `reason` and `key` default to "failure" and the message. */
export interface FailureReport {
  reason?: string;
  key?: string;
}

/** The exponential's bound for the `count`th failure in a row: base, 2 × base, … up to the cap. */
export function backoffBound(count: number, policy: Bounds = defaultBackoff): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, count - 1));
}

/**
 * Equal jitter: half the bound is fixed, half random, so pools that failed together spread
 * out but none retries sooner than half its bound.
 */
export function backoffDelay(count: number, random: number, policy: Bounds = defaultBackoff): number {
  const bound = backoffBound(count, policy);
  return Math.round(bound / 2 + Math.min(Math.max(random, 0), 1) * (bound / 2));
}

/** The smallest failure count whose bound is the cap: where a terminal failure starts. */
export function countAtCap(policy: Bounds = defaultBackoff): number {
  let count = 1;
  while (backoffBound(count, policy) < policy.capMs) count++;
  return count;
}

/**
 * Whether the runners a pass sees show that `pool` works again since its failure at `failureAt`:
 * a runner of the pool made after the failure took a job (busy), or a runner that began listening
 * after the failure has stayed idle for `stableIdleMs`. Listening alone does not count (runners
 * can fail after listening, and a pool whose runners listen and then fail would reset its count
 * on every cycle); nor does an older runner listening since before the failure, or one that
 * merely took a job: they prove nothing about new spawns.
 */
export function recoveredSince(pool: string, failureAt: number, runners: readonly ObservedRunner[], now: number, stableIdleMs: number): boolean {
  return runners.some((r) => {
    if (r.pool !== pool) return false;
    if (r.phase === "busy") return r.createdAt > failureAt;
    const since = listeningSince(r, failureAt);
    return since !== undefined && now - since >= stableIdleMs;
  });
}

/** When the first runner listening since the failure will have been idle long enough to end it; undefined: none is listening. */
export function recoveryDueAt(pool: string, failureAt: number, runners: readonly ObservedRunner[], stableIdleMs: number): number | undefined {
  const due = runners.filter((r) => r.pool === pool).map((r) => listeningSince(r, failureAt)).filter((t) => t !== undefined).map((t) => t + stableIdleMs);
  return due.length > 0 ? Math.min(...due) : undefined;
}

/**
 * When an idle runner began listening, if after the failure. The agent writes whole seconds, so a
 * runner made after the failure may show a listening time in the failure's own second: its
 * creation time bounds it from below.
 */
function listeningSince(r: ObservedRunner, failureAt: number): number | undefined {
  if (r.phase !== "idle" || r.phaseSince === undefined) return undefined;
  const since = Math.max(r.phaseSince, r.createdAt);
  return since > failureAt ? since : undefined;
}

export class PoolBackoff {
  private readonly failures = new Map<string, PoolFailure>();

  constructor(
    private readonly clock: BackoffClock,
    private readonly policy: BackoffPolicy = defaultBackoff,
  ) {}

  /**
   * Records a failure of `pool` and returns its new state (retry after `until`). `changed`: the
   * pool was not failing, or failed differently (another reason, key or class) before: callers log
   * and record an event only then, so a pool that keeps failing the same way leaves one event, not
   * one per attempt.
   */
  fail(pool: string, message: string, terminal: boolean, report: FailureReport = {}): PoolFailure & { delay: number; changed: boolean } {
    const at = this.clock.now();
    const before = this.failures.get(pool);
    const next = (before?.count ?? 0) + 1;
    const count = terminal ? Math.max(next, countAtCap(this.policy)) : next;
    const delay = backoffDelay(count, this.clock.random(), this.policy);
    const reason = report.reason ?? "failure";
    const key = failureKey(report.key ?? message);
    const failure: PoolFailure = { count, at, until: at + delay, message, terminal, since: before?.since ?? at, reason, key };
    this.failures.set(pool, failure);
    // The same failure may be classed transient once and terminal the next time (LXD answers a
    // failed operation, Incus a 500): for the operator it is the same failure.
    const changed = !before || before.reason !== reason || before.key !== key;
    return { ...failure, delay, changed };
  }

  /**
   * Ends the backoff of every pool the observed runners show working again; returns those pools,
   * and when a listening runner will be proof enough (so a pass can look then).
   */
  settle(runners: readonly ObservedRunner[], now = this.clock.now()): { recovered: string[]; dueAt?: number } {
    const recovered: string[] = [];
    let dueAt: number | undefined;
    for (const [pool, failure] of this.failures) {
      if (recoveredSince(pool, failure.at, runners, now, this.policy.stableIdleMs)) recovered.push(pool);
      else {
        const due = recoveryDueAt(pool, failure.at, runners, this.policy.stableIdleMs);
        if (due !== undefined) dueAt = Math.min(dueAt ?? due, due);
      }
    }
    for (const pool of recovered) this.failures.delete(pool);
    return dueAt === undefined ? { recovered } : { recovered, dueAt };
  }

  /**
   * A collected runner of `pool`, made at `createdAt`, ran a job: if it was made after the last
   * failure, the pool works (a short job may come and go between two passes, never seen busy).
   * Returns whether this ended the pool's backoff.
   */
  jobDone(pool: string, createdAt: number): boolean {
    const failure = this.failures.get(pool);
    if (!failure || !(createdAt > failure.at)) return false;
    this.failures.delete(pool);
    return true;
  }

  get(pool: string): PoolFailure | undefined {
    return this.failures.get(pool);
  }

  /** Pool name -> no spawn before this time. */
  untilByPool(): Map<string, number> {
    return new Map([...this.failures].map(([pool, f]) => [pool, f.until]));
  }
}

/**
 * What identifies a failure across attempts: its message without what varies per attempt
 * (numbers such as ports, pids and sizes; long hex ids). Callers replace the runner's name.
 */
export function failureKey(message: string): string {
  return message.replace(/\b[0-9a-f]{12,}\b/gi, "#").replace(/\d+/g, "#");
}
