// The reconcile loop: events, timers and commands only ask for a pass; passes never overlap and
// requests arriving during a pass are merged into one more. A pass observes (snapshot.ts),
// plans (plan.ts, pure), dispatches the actions (dispatcher.ts, actions.ts), which run in the
// background and ask for another pass when they finish, and publishes what it saw (report.ts).
import type { Logger } from "pino";
import { classifyFailure, describeError } from "../errors.js";
import { timerDelay } from "../schedule/timers.js";
import { RunnerActions } from "./actions.js";
import { defaultBackoff, PoolBackoff, type BackoffPolicy } from "./backoff.js";
import { DeprecatedPools } from "./deprecation.js";
import { Dispatcher, type ActionBounds } from "./dispatcher.js";
import { MemberLoss } from "./member-loss.js";
import { newRunnerName } from "./names.js";
import { plan } from "./plan.js";
import type { HistoryPort, ImagePort, LxdPort, ReconcilerObserver, RegistrarPort, TokenPort } from "./ports.js";
import { BlockerLog, poolReports, type ReconcilerStatus } from "./report.js";
import type { ReconcilerSettings } from "./settings.js";
import { SnapshotObserver, type Observed } from "./snapshot.js";
import type { Action } from "./types.js";

export type { PoolReport, ReconcilerStatus } from "./report.js";

export interface ReconcilerDeps {
  lxd: LxdPort;
  tokens: TokenPort;
  /** JIT registrations; required when any pool uses an app or pat connection. */
  registrar?: RegistrarPort;
  history: HistoryPort;
  /** runnerd-built images: rebuilt when GitHub refuses their runner version (auto_rebuild). */
  images?: ImagePort;
  /** Queued jobs per pool not yet picked up (webhooks); absent: the floor alone decides. */
  demand?: () => ReadonlyMap<string, number>;
  observer?: ReconcilerObserver;
  logger: Logger;
  now: () => number;
  /** The backoff's jitter; Math.random unless a test fixes it. */
  random?: () => number;
  backoff?: Partial<BackoffPolicy>;
  agentScript: string;
  /** Called after every pass with what runnerd now believes; the daemon publishes it. */
  onStatus?: (status: ReconcilerStatus) => void;
  newName?: (prefix: string, pool: string) => string;
}

export class Reconciler {
  private settings: ReconcilerSettings;
  private readonly dispatcher: Dispatcher;
  private readonly backoff: PoolBackoff;
  private readonly deprecated = new DeprecatedPools();
  private readonly snapshots: SnapshotObserver;
  private readonly actions: RunnerActions;
  private readonly blockers: BlockerLog;
  private readonly memberLoss: MemberLoss;
  private loopDone: Promise<void> = Promise.resolve();
  private running = false;
  private pending = false;
  private shuttingDown = false;
  private passCount = 0;
  private requeueTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private lastStatus: ReconcilerStatus | undefined;

  constructor(
    private readonly deps: ReconcilerDeps,
    settings: ReconcilerSettings,
  ) {
    this.settings = settings;
    this.dispatcher = new Dispatcher(actionBounds(settings), deps.now);
    this.backoff = new PoolBackoff({ now: deps.now, random: deps.random ?? Math.random }, { ...defaultBackoff, ...deps.backoff });
    this.snapshots = new SnapshotObserver({
      lxd: deps.lxd,
      tokens: deps.tokens,
      ...(deps.demand ? { demand: deps.demand } : {}),
      inFlight: () => this.dispatcher.inFlight,
      lastSpawnAt: () => this.dispatcher.lastSpawnAt,
      backoff: this.backoff,
      deprecated: this.deprecated,
      now: deps.now,
    });
    this.actions = new RunnerActions(deps, {
      settings: () => this.settings,
      backoff: this.backoff,
      deprecated: this.deprecated,
      shuttingDown: () => this.shuttingDown,
      tookJob: (runner, at) => this.snapshots.assumeBusy(runner, at),
    });
    this.blockers = new BlockerLog(deps.history);
    this.memberLoss = new MemberLoss({ history: deps.history, now: deps.now, ...(deps.registrar ? { registrar: deps.registrar } : {}) });
  }

  start(): void {
    this.scheduleResync();
    this.requestPass("start");
  }

  /** A new configuration, already validated; the next pass drains pools that left it. */
  updateSettings(settings: ReconcilerSettings): void {
    this.dispatcher.setConcurrency(actionBounds(settings));
    this.settings = settings;
    this.scheduleResync();
    this.requestPass("config reloaded");
  }

  /** Asks for a pass: one starts now, or, while one runs, one more follows it (requests merge). */
  requestPass(reason: string): void {
    if (this.shuttingDown) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = true;
    this.loopDone = this.loop(reason);
  }

  /**
   * A `workflow_job` webhook names `runner` as running a job: a pass reads its status now instead
   * of when its idle re-read falls due (idle-reads.ts), so its pool's floor is refilled at once.
   * Only a hint: the status file still decides (a forged or stale webhook changes no phase).
   */
  runnerTookJob(runner: string): void {
    this.snapshots.readSoon(runner);
    this.requestPass(`job started on ${runner}`);
  }

  status(): ReconcilerStatus | undefined {
    return this.lastStatus;
  }

  /** Runners being created, collected or deleted right now (their instance may not be listed yet). */
  inFlightNames(): string[] {
    return [...this.dispatcher.inFlight.keys()];
  }

  /** Stops spawning and passes, waits (at most `timeoutMs`) for actions under way; running runners stay. */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    this.shuttingDown = true;
    this.dispatcher.close();
    clearInterval(this.resyncTimer);
    clearTimeout(this.requeueTimer);
    const drained = this.loopDone.then(() => this.dispatcher.drain());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([drained, timeout]);
    clearTimeout(timer);
  }

  private async loop(reason: string): Promise<void> {
    try {
      do {
        this.pending = false;
        await this.pass(reason);
        reason = "merged request";
      } while (this.pending && !this.shuttingDown);
    } finally {
      this.running = false;
    }
  }

  private async pass(reason: string): Promise<void> {
    const started = performance.now();
    const log = this.deps.logger.child({ pass: ++this.passCount });
    const now = this.deps.now();
    const mark = this.dispatcher.mark();
    let observed: Observed;
    try {
      observed = await this.snapshots.observe(this.settings, now, this.shuttingDown, log);
    } catch (err) {
      log.error({ err: describeError(err), reason }, "observing LXD failed; retrying at the next resync");
      this.deps.observer?.failure?.("lxd", "observe");
      this.publish({ ...(this.lastStatus ?? { pools: [], runners: [] }), at: now, lastPassError: describeError(err) });
      return;
    }
    const { snapshot, transitions, recovered, undeprecated } = observed;
    this.actions.noteObserved(snapshot.runners, transitions);
    if (recovered.length > 0) log.info({ pools: recovered }, "a new runner took a job or stayed listening: pool backoff reset");
    for (const pool of recovered) this.deps.history.addEvent({ level: "info", kind: "backoff-ended", pool, message: backoffEnded });
    for (const pool of undeprecated) {
      log.info({ pool }, "the pool's image moved: spawning resumes");
      this.deps.history.addEvent({ level: "info", kind: "runner-deprecated-cleared", pool, message: "the pool's image points at a new image: spawning resumed" });
    }
    const result = plan(snapshot, this.settings.plan, now);
    if (result.actions.length > 0) log.debug({ reason, actions: result.actions }, "planned actions");
    this.blockers.report(result.pools, log);
    for (const action of result.actions) this.dispatch(action, mark, log);
    this.memberLoss.note(result.lost ?? [], log);
    const present = new Set(snapshot.runners.map((r) => r.name));
    this.dispatcher.forget(present);
    this.actions.forget(present, this.dispatcher.inFlight);
    const recoveryIn = observed.recoveryDueAt !== undefined ? Math.max(0, observed.recoveryDueAt - now) : undefined;
    this.scheduleRequeue(recoveryIn === undefined ? result.requeueAfterMs : Math.min(recoveryIn, result.requeueAfterMs ?? recoveryIn));
    const pools = poolReports(result.pools, { failure: (pool) => this.backoff.get(pool), deprecation: (pool) => this.deprecated.get(pool) }, now);
    this.publish({ at: now, pools, runners: snapshot.runners, ...(result.members ? { members: result.members } : {}) });
    this.deps.observer?.passDone?.(performance.now() - started);
  }

  private dispatch(action: Action, mark: number, log: Logger): void {
    const prefix = this.settings.pools.find((p) => p.spec.name === action.pool)?.namePrefix ?? "rd";
    const name = action.kind === "spawn" ? (this.deps.newName ?? newRunnerName)(prefix, action.pool) : action.runner;
    this.dispatcher.dispatch(action, name, mark, () => this.actions.run(action, name, log), {
      onError: (err) => {
        // Shutdown aborts the LXD calls still in flight after its grace period (daemon/shutdown.ts).
        if (this.shuttingDown) return log.warn({ err: describeError(err), runner: name }, "action cut short by shutdown; the next start picks its runner up");
        log.error({ err: describeError(err), runner: name }, "action failed unexpectedly");
        this.deps.observer?.failure?.(classifyFailure(err).source, action.kind);
      },
      onDone: () => this.requestPass(`${action.kind} ${name} finished`),
    });
  }

  private publish(status: ReconcilerStatus): void {
    this.lastStatus = status;
    this.deps.onStatus?.(status);
  }

  /**
   * A deadline further away than the next resync needs no timer of its own: every pass plans its
   * deadlines afresh. The cap also keeps a far deadline (an `idle_timeout: 30d`, a time a job wrote)
   * from overflowing setTimeout, which would fire at once, and again after every pass.
   */
  private scheduleRequeue(afterMs: number | undefined): void {
    clearTimeout(this.requeueTimer);
    if (afterMs === undefined || this.shuttingDown) return;
    this.requeueTimer = setTimeout(() => this.requestPass("deadline"), timerDelay(afterMs, this.settings.resyncIntervalMs, 50));
  }

  private scheduleResync(): void {
    clearInterval(this.resyncTimer);
    if (this.shuttingDown) return;
    this.resyncTimer = setInterval(() => this.requestPass("resync"), timerDelay(this.settings.resyncIntervalMs));
  }
}

const backoffEnded = "a runner spawned since the last failure took a job or stayed listening: spawning resumes at full speed";
const actionBounds = (s: ReconcilerSettings): ActionBounds => ({ spawn: s.spawnConcurrency, collect: s.collectConcurrency });
