// The reconcile loop: events, timers and commands only ask for a pass; passes never overlap and
// requests arriving during a pass are merged into one more. Each pass observes, plans (pure) and
// dispatches actions, which run in the background under a concurrency bound and ask for another
// pass when they finish.
import type { Logger } from "pino";
import { describeError } from "../errors.js";
import { parseAgentStatus, type AgentStatus } from "./agent-status.js";
import { paths } from "./ownership.js";
import { collectRunner, deleteRunner } from "./collect.js";
import { Limiter } from "./limiter.js";
import { newRunnerName } from "./names.js";
import { observe, type CachedStatus, type InFlight } from "./observe.js";
import { plan } from "./plan.js";
import type { HistoryPort, LxdPort, ReconcilerObserver, RegistrarPort, TokenPort } from "./ports.js";
import type { ReconcilerSettings } from "./settings.js";
import { SpawnFailed, spawnRunner, type RunnerCredential } from "./spawn.js";
import type { Action, ObservedRunner, PoolBlocker, PoolStatus } from "./types.js";

/** How long a resolved image alias is trusted before it is read again. */
const aliasRecheckMs = 5_000;

export interface ReconcilerDeps {
  lxd: LxdPort;
  tokens: TokenPort;
  /** JIT registrations; required when any pool uses an app or pat connection. */
  registrar?: RegistrarPort;
  history: HistoryPort;
  /** Queued jobs per pool not yet picked up (webhooks); absent: the floor alone decides. */
  demand?: () => ReadonlyMap<string, number>;
  observer?: ReconcilerObserver;
  logger: Logger;
  now: () => number;
  agentScript: string;
  /** Called after every pass with what runnerd now believes; the daemon publishes it. */
  onStatus?: (status: ReconcilerStatus) => void;
  newName?: (prefix: string, pool: string) => string;
}

export interface PoolReport extends PoolStatus {
  lastError?: { message: string; at: number };
}

export interface ReconcilerStatus {
  at: number;
  pools: PoolReport[];
  runners: ObservedRunner[];
  lastPassError?: string;
}

const backoffBaseMs = 1000;
/** How often an idle runner's status file is read again to notice that it took a job. */
const idleRecheckMs = 2000;
const backoffMaxMs = 60_000;

function failureSource(err: unknown): "lxd" | "github" | "other" {
  const name = err instanceof Error ? (err.cause instanceof Error ? err.cause.name : err.name) : "";
  return name === "LxdError" ? "lxd" : name === "GitHubError" ? "github" : "other";
}

export class Reconciler {
  private settings: ReconcilerSettings;
  private limiter: Limiter;
  private readonly inFlight = new Map<string, InFlight>();
  /** Action sequence number at which each runner's last action finished (see dispatch). */
  private readonly finishedSeq = new Map<string, number>();
  private actionSeq = 0;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly tasks = new Set<Promise<void>>();
  private readonly statusCache = new Map<string, CachedStatus>();
  private readonly aliasCache = new Map<string, { target: string | null; readAt: number }>();
  private readonly failures = new Map<string, { count: number; until: number; message: string; at: number }>();
  private readonly lastBlocked = new Map<string, PoolBlocker | undefined>();
  /** When each pool last had a spawn dispatched (fair sharing of the host cap). */
  private readonly lastSpawnAt = new Map<string, number>();
  private spawnSerial = 0;
  /** Pool of each runner as last observed (for metrics of status transitions). */
  private readonly lastPools = new Map<string, string>();
  /** JIT runners' registrations as last observed: name -> where to delete it. */
  private readonly registrations = new Map<string, { connection: string; scope: string; runnerId: number }>();
  private running = false;
  private pending = false;
  private shuttingDown = false;
  private stopped = false;
  private passCount = 0;
  private requeueTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private lastStatus: ReconcilerStatus | undefined;

  constructor(
    private readonly deps: ReconcilerDeps,
    settings: ReconcilerSettings,
  ) {
    this.settings = settings;
    this.limiter = new Limiter(settings.spawnConcurrency);
  }

  start(): void {
    this.scheduleResync();
    this.requestPass("start");
  }

  /** A new configuration, already validated; the next pass drains pools that left it. */
  updateSettings(settings: ReconcilerSettings): void {
    // A new limiter only when the bound changes: actions under way keep counting against this one.
    if (settings.spawnConcurrency !== this.settings.spawnConcurrency) this.limiter = new Limiter(settings.spawnConcurrency);
    this.settings = settings;
    this.scheduleResync();
    this.requestPass("config reloaded");
  }

  requestPass(reason: string): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = true;
    this.loopDone = this.loop(reason);
  }

  status(): ReconcilerStatus | undefined {
    return this.lastStatus;
  }

  /** Runners being created, collected or deleted right now (their instance may not be listed yet). */
  inFlightNames(): string[] {
    return [...this.inFlight.keys()];
  }

  /** Stop spawning, let actions under way finish, leave running runners alone. */
  async shutdown(timeoutMs = 30_000): Promise<void> {
    this.shuttingDown = true;
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.requeueTimer);
    const drained = (async () => {
      await this.loopDone;
      while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    })();
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  private async loop(reason: string): Promise<void> {
    try {
      do {
        this.pending = false;
        await this.pass(reason);
        reason = "merged request";
      } while (this.pending && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  private async pass(reason: string): Promise<void> {
    const passId = ++this.passCount;
    const passStarted = performance.now();
    const log = this.deps.logger.child({ pass: passId });
    const now = this.deps.now();
    const seqAtObserve = this.actionSeq;
    let observation;
    try {
      observation = await observe(this.deps.lxd, this.deps.tokens, this.settings.controllerId, this.inFlight, this.statusCache, { now, idleRecheckMs });
    } catch (err) {
      log.error({ err: describeError(err), reason }, "observing LXD failed; retrying at the next resync");
      this.deps.observer?.failure?.("lxd", "observe");
      this.publish({ at: now, pools: this.lastStatus?.pools ?? [], runners: this.lastStatus?.runners ?? [], lastPassError: describeError(err) });
      return;
    }
    for (const runner of observation.runners) this.lastPools.set(runner.name, runner.pool);
    this.recordTransitions(observation.transitions);
    for (const runner of observation.runners) {
      if (runner.githubRunnerId !== undefined && runner.connection !== undefined && runner.scope !== undefined) {
        this.registrations.set(runner.name, { connection: runner.connection, scope: runner.scope, runnerId: runner.githubRunnerId });
      }
    }
    // A pool with a runner that got as far as listening works again: forget its failures.
    for (const runner of observation.runners) if (runner.phase === "idle" || runner.phase === "busy") this.failures.delete(runner.pool);

    const backoffUntil = new Map<string, number>();
    for (const [pool, f] of this.failures) backoffUntil.set(pool, f.until);
    const poolImages = await this.poolImages(now, log);
    const result = plan(
      {
        pools: this.settings.pools.map((p) => p.spec),
        runners: observation.runners,
        tokenExpiry: observation.tokenExpiry,
        backoffUntil,
        shuttingDown: this.shuttingDown,
        poolImages,
        ...(this.deps.demand ? { demand: this.deps.demand() } : {}),
        lastSpawnAt: this.lastSpawnAt,
      },
      this.settings.plan,
      now,
    );
    if (result.actions.length > 0) log.debug({ reason, actions: result.actions }, "planned actions");
    this.reportBlockers(result.pools, log);
    for (const action of result.actions) this.dispatch(action, log, seqAtObserve);
    this.forgetFinished(observation.runners);

    clearTimeout(this.requeueTimer);
    if (result.requeueAfterMs !== undefined && !this.shuttingDown) {
      this.requeueTimer = setTimeout(() => this.requestPass("deadline"), Math.max(50, result.requeueAfterMs));
    }
    const pools: PoolReport[] = result.pools.map((p) => {
      const f = this.failures.get(p.name);
      return f ? { ...p, lastError: { message: f.message, at: f.at } } : p;
    });
    this.publish({ at: now, pools, runners: observation.runners });
    this.deps.observer?.passDone?.(performance.now() - passStarted);
  }

  /** Keeps finish marks only for runners LXD still lists (or lists again); the rest can go. */
  /**
   * Where each pool's image alias points now, re-read at most every few seconds: an image build
   * moves the alias, and the plan then rolls the pool's idle runners to the new image.
   */
  private async poolImages(now: number, log: Logger): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    await Promise.all(
      this.settings.pools.map(async (pool) => {
        if (/^[0-9a-f]{12,64}$/.test(pool.image)) return; // a fingerprint never moves
        let cached = this.aliasCache.get(pool.image);
        if (!cached || now - cached.readAt >= aliasRecheckMs) {
          try {
            const alias = await this.deps.lxd.getImageAlias(pool.image);
            cached = { target: alias?.target ?? null, readAt: now };
            this.aliasCache.set(pool.image, cached);
          } catch (err) {
            log.warn({ err: describeError(err), image: pool.image }, "cannot read the pool's image alias; not rolling this pass");
            return;
          }
        }
        if (cached.target) result.set(pool.spec.name, cached.target);
      }),
    );
    return result;
  }

  private forgetFinished(runners: readonly ObservedRunner[]): void {
    if (this.lastPools.size > 1024) {
      const present = new Set(runners.map((r) => r.name));
      for (const name of this.lastPools.keys()) if (!present.has(name)) this.lastPools.delete(name);
    }
    if (this.finishedSeq.size < 256) return;
    const present = new Set(runners.map((r) => r.name));
    for (const name of this.finishedSeq.keys()) if (!present.has(name) && !this.inFlight.has(name)) this.finishedSeq.delete(name);
  }

  private publish(status: ReconcilerStatus): void {
    this.lastStatus = status;
    this.deps.onStatus?.(status);
  }

  private dispatch(action: Action, log: Logger, seqAtObserve: number): void {
    if (this.stopped) return;
    const now = this.deps.now();
    const name = action.kind === "spawn" ? (this.deps.newName ?? newRunnerName)(this.poolRuntime(action.pool)?.namePrefix ?? "rd", action.pool) : action.runner;
    if (this.inFlight.has(name)) return;
    // An action on this runner finished after the snapshot was taken: the plan is stale for it.
    if ((this.finishedSeq.get(name) ?? -1) >= seqAtObserve) return;
    this.inFlight.set(name, { kind: action.kind, pool: action.pool, startedAt: now });
    // A serial, not the time: spawns dispatched in one pass must still be told apart.
    if (action.kind === "spawn") this.lastSpawnAt.set(action.pool, ++this.spawnSerial);
    const task = this.limiter
      .run(() => this.execute(action, name, log))
      .catch((err: unknown) => {
        log.error({ err: describeError(err), runner: name }, "action failed unexpectedly");
        this.deps.observer?.failure?.(failureSource(err), action.kind);
      })
      .finally(() => {
        this.finishedSeq.set(name, this.actionSeq++);
        this.inFlight.delete(name);
        this.tasks.delete(task);
        this.requestPass(`${action.kind} ${name} finished`);
      });
    this.tasks.add(task);
  }

  private async execute(action: Action, name: string, log: Logger): Promise<void> {
    const alog = log.child({ pool: action.pool, runner: name });
    switch (action.kind) {
      case "spawn":
        return this.spawn(action.pool, name, alog);
      case "collect":
        return this.collect(action, alog);
      case "delete":
        return this.remove(action, alog);
    }
  }

  private async spawn(poolName: string, name: string, log: Logger): Promise<void> {
    const pool = this.poolRuntime(poolName);
    if (!pool || this.shuttingDown) return;
    let credential: RunnerCredential | undefined;
    if (pool.credential === "push") {
      const token = this.deps.tokens.getToken(pool.spec.scope);
      if (!token) return;
      credential = { token: token.token };
    }
    const createdAt = new Date(this.deps.now());
    const started = performance.now();
    let jitMs: number | undefined;
    try {
      this.deps.history.recordRunnerCreated({ name, pool: poolName, scope: pool.spec.scope, image: pool.image, createdAt });
      if (!credential) {
        // Minted before the instance exists, so a failure costs no LXD work; the instance
        // records the registration's id, so whoever deletes the instance can delete it too.
        if (!this.deps.registrar) throw new SpawnFailed(`pool ${poolName} needs JIT configs but runnerd has no GitHub client for connection ${pool.connection}`, false);
        const jit = await this.deps.registrar.jitConfig(pool, name).catch((err: unknown) => {
          throw new SpawnFailed(describeError(err), false, { cause: err });
        });
        jitMs = Math.round(performance.now() - started);
        credential = { jitconfig: jit.encodedJitConfig, githubRunnerId: jit.runnerId };
        this.registrations.set(name, { connection: pool.connection, scope: pool.spec.scope, runnerId: jit.runnerId });
      }
      const timings = await spawnRunner(this.deps.lxd, {
        name,
        pool,
        controllerId: this.settings.controllerId,
        credential,
        agentScript: this.deps.agentScript,
        createdAt,
      });
      log.info({ ms: Math.round(performance.now() - started), ...(jitMs !== undefined ? { jitMs } : {}), ...timings }, "runner spawned");
      this.deps.observer?.spawnDone?.(poolName, performance.now() - started, true);
    } catch (err) {
      const message = describeError(err);
      const now = this.deps.now();
      const { count, delay } = this.recordFailure(poolName, message, now);
      const leftover = !(err instanceof SpawnFailed) || err.leftover;
      this.deps.history.recordRunnerResult(name, { exitCode: null, jobSeen: false, outcome: "spawn-failed", detail: message, finishedAt: new Date(now) });
      if (!leftover) {
        this.deps.history.markRunnerDeleted(name, new Date(now));
        // No instance will ever use this registration: do not leave it in GitHub's list.
        await this.releaseRegistration(name, log);
      }
      this.deps.history.addEvent({ level: "error", kind: "spawn-failed", pool: poolName, runner: name, message });
      this.deps.observer?.spawnDone?.(poolName, performance.now() - started, false);
      this.deps.observer?.failure?.(failureSource(err), "spawn");
      log.error({ err: message, retryInMs: delay, failures: count }, leftover ? "spawn failed; its instance is left for a later pass to collect" : "spawn failed; nothing left behind");
    }
  }

  /**
   * Deletes the GitHub registration of a JIT runner whose instance is gone. A runner that ran its
   * job needs none (GitHub removes an ephemeral runner after its job); the sweep catches failures.
   */
  private async releaseRegistration(name: string, log: Logger): Promise<void> {
    const registration = this.registrations.get(name);
    this.registrations.delete(name);
    if (!registration || !this.deps.registrar) return;
    try {
      const result = await this.deps.registrar.removeRegistration(registration);
      log.info({ githubRunnerId: registration.runnerId, result }, "runner registration removed from GitHub");
    } catch (err) {
      log.warn({ githubRunnerId: registration.runnerId, err: describeError(err) }, "removing the runner's registration from GitHub failed; the registration sweep retries");
      this.deps.observer?.failure?.("github", "delete-registration");
    }
  }

  /**
   * A pool whose spawns fail, or whose runners die before they ever listen (a revoked token, an
   * unreachable GitHub, a broken image), backs off instead of recreating runners in a hot loop.
   */
  private recordFailure(pool: string, message: string, now: number): { count: number; delay: number } {
    const count = (this.failures.get(pool)?.count ?? 0) + 1;
    const delay = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (count - 1));
    this.failures.set(pool, { count, until: now + delay, message, at: now });
    return { count, delay };
  }

  private async collect(action: Extract<Action, { kind: "collect" }>, log: Logger): Promise<void> {
    const started = performance.now();
    this.deps.history.markRunnerStopped(action.runner, new Date(this.deps.now()));
    this.deps.observer?.runnerGone?.(action.pool, this.deps.now());
    const collected = await collectRunner(this.deps.lxd, action.runner, this.settings.logsDir, action.forceStop);
    const outcome = action.outcome ?? collected.outcome;
    const detail = action.outcome ? action.reason : collected.detail;
    const finishedAt = new Date(this.deps.now());
    // The agent's own times fill what no pass saw: a job shorter than the poll interval, or
    // phases that passed while runnerd was down. Recorded times that exist are kept.
    const result = collected.result;
    if (result?.listening_at != null) this.deps.history.markRunnerListening(action.runner, new Date(result.listening_at * 1000));
    if (result?.job_seen && result.job_started_at != null) this.deps.history.markRunnerBusy(action.runner, new Date(result.job_started_at * 1000), result.job_name || undefined);
    this.deps.history.recordRunnerResult(action.runner, {
      exitCode: collected.result?.exit_code ?? null,
      jobSeen: collected.result?.job_seen ?? false,
      outcome,
      ...(detail ? { detail } : {}),
      finishedAt,
    });
    this.deps.history.markRunnerDeleted(action.runner, finishedAt);
    if (outcome === "succeeded" && collected.result?.job_seen) this.registrations.delete(action.runner);
    else await this.releaseRegistration(action.runner, log);
    const neverListened = !collected.result?.listening_at && !collected.result?.job_seen;
    if (action.outcome === undefined && outcome !== "succeeded" && neverListened) {
      const { delay } = this.recordFailure(action.pool, `runner ${action.runner} ended without listening (${outcome}${detail ? `: ${detail}` : ""})`, finishedAt.getTime());
      log.warn({ retryInMs: delay }, "runner never listened; pool backs off");
    }
    this.deps.observer?.collected?.(action.pool, outcome);
    const level = outcome === "succeeded" ? "info" : "warn";
    if (level === "warn") this.deps.history.addEvent({ level, kind: outcome, pool: action.pool, runner: action.runner, message: detail ?? action.reason });
    log[level]({ outcome, job: collected.result?.job_name || undefined, exitCode: collected.result?.exit_code, ms: Math.round(performance.now() - started), reason: action.reason }, "runner collected");
  }

  private async remove(action: Extract<Action, { kind: "delete" }>, log: Logger): Promise<void> {
    // The plan may have seen this runner idle a moment ago: never delete one that took a job since.
    const now = parseAgentStatus(await this.deps.lxd.pullFile(action.runner, paths.status).catch(() => null));
    if (now?.state === "busy" || now?.state === "finished") {
      log.info({ reason: action.reason }, "runner took a job meanwhile; not deleted");
      return;
    }
    await deleteRunner(this.deps.lxd, action.runner);
    const at = new Date(this.deps.now());
    this.deps.observer?.runnerGone?.(action.pool, at.getTime());
    this.deps.observer?.collected?.(action.pool, action.outcome);
    this.deps.history.recordRunnerResult(action.runner, { exitCode: null, jobSeen: false, outcome: action.outcome, detail: action.reason, finishedAt: at });
    this.deps.history.markRunnerDeleted(action.runner, at);
    await this.releaseRegistration(action.runner, log);
    log.info({ reason: action.reason }, "runner deleted");
  }

  private recordTransitions(transitions: { runner: string; status: AgentStatus }[]): void {
    for (const { runner, status } of transitions) {
      const at = new Date(status.since);
      if (status.state === "listening") {
        this.deps.history.markRunnerListening(runner, at);
        const pool = this.lastPools.get(runner);
        if (pool) this.deps.observer?.runnerListening?.(pool, at.getTime());
      }
      else if (status.state === "busy") this.deps.history.markRunnerBusy(runner, at, status.job);
    }
  }

  /** Logs a pool's blocker once per change, not on every pass. */
  private reportBlockers(pools: PoolStatus[], log: Logger): void {
    for (const pool of pools) {
      const before = this.lastBlocked.get(pool.name);
      if (before === pool.blocked) continue;
      this.lastBlocked.set(pool.name, pool.blocked);
      if (pool.blocked === "token-missing" || pool.blocked === "token-expiring") {
        const message = pool.blocked === "token-missing" ? `no registration token for ${pool.scope}: push one with 'runnerd token set ${pool.scope}'` : `the registration token for ${pool.scope} expires too soon to start runners`;
        log.warn({ pool: pool.name, scope: pool.scope }, `pool waiting for token: ${message}`);
        this.deps.history.addEvent({ level: "warn", kind: "waiting-for-token", pool: pool.name, message });
      } else if (before === "token-missing" || before === "token-expiring") {
        log.info({ pool: pool.name }, "pool has a fresh token; spawning resumed");
        this.deps.history.addEvent({ level: "info", kind: "token-fresh", pool: pool.name, message: "fresh token: spawning resumed" });
      } else if (pool.blocked === "host-cap") {
        log.info({ pool: pool.name }, "pool held back by the host-wide runner cap");
      }
    }
  }

  private poolRuntime(name: string) {
    return this.settings.pools.find((p) => p.spec.name === name);
  }

  private scheduleResync(): void {
    clearInterval(this.resyncTimer);
    this.resyncTimer = setInterval(() => this.requestPass("resync"), this.settings.resyncIntervalMs);
  }
}
