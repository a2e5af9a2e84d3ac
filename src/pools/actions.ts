// The actions a plan asks for — spawn, collect, delete — and what each records: the runner's
// history, its metrics, its pool's failures, and the GitHub registration of a JIT runner.
import type { Logger } from "pino";
import { classifyFailure, describeError, SpawnFailed, TerminalError } from "../errors.js";
import { parseAgentStatus } from "./agent-status.js";
import type { PoolBackoff } from "./backoff.js";
import { collectRunner, deleteInstance } from "./collect.js";
import { chooseCredential, needsRegistrationRelease, neverListened, tookJobSincePlanned } from "./decisions.js";
import type { Transition } from "./observe.js";
import { paths } from "./ownership.js";
import type { HistoryPort, LxdPort, ReconcilerObserver, RegistrarPort, TokenPort } from "./ports.js";
import type { PoolRuntime, ReconcilerSettings } from "./settings.js";
import { spawnRunner, type RunnerCredential } from "./spawn.js";
import type { Action, ObservedRunner } from "./types.js";

export interface ActionPorts {
  lxd: LxdPort;
  tokens: TokenPort;
  /** JIT registrations; required when any pool uses an app or pat connection. */
  registrar?: RegistrarPort | undefined;
  history: HistoryPort;
  observer?: ReconcilerObserver | undefined;
  now: () => number;
  agentScript: string;
}

export interface ActionContext {
  settings: () => ReconcilerSettings;
  backoff: Pick<PoolBackoff, "fail">;
  shuttingDown: () => boolean;
}

/** Where a JIT runner's registration is deleted. */
export interface Registration {
  connection: string;
  scope: string;
  runnerId: number;
}

type Collect = Extract<Action, { kind: "collect" }>;
type Delete = Extract<Action, { kind: "delete" }>;

export class RunnerActions {
  /** JIT runners' registrations as last observed or minted: runner name -> where to delete it. */
  private readonly registrations = new Map<string, Registration>();

  constructor(
    private readonly ports: ActionPorts,
    private readonly ctx: ActionContext,
  ) {}

  run(action: Action, name: string, log: Logger): Promise<void> {
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

  /** Takes in what a pass saw: registrations to delete later, and agent status changes for the history. */
  noteObserved(runners: readonly ObservedRunner[], transitions: readonly Transition[]): void {
    for (const r of runners) {
      if (r.githubRunnerId !== undefined && r.connection !== undefined && r.scope !== undefined) {
        this.registrations.set(r.name, { connection: r.connection, scope: r.scope, runnerId: r.githubRunnerId });
      }
    }
    for (const { runner, pool, status } of transitions) {
      const at = new Date(status.since);
      if (status.state === "idle") {
        this.ports.history.markRunnerListening(runner, at);
        this.ports.observer?.runnerListening?.(pool, at.getTime());
      } else if (status.state === "busy") this.ports.history.markRunnerBusy(runner, at, status.job);
    }
  }

  /** Forgets registrations of runners neither listed nor in flight (deleted by hand, say); the sweep covers them. */
  forget(present: ReadonlySet<string>, inFlight: ReadonlyMap<string, unknown>): void {
    if (this.registrations.size < 256) return;
    for (const name of this.registrations.keys()) if (!present.has(name) && !inFlight.has(name)) this.registrations.delete(name);
  }

  async spawn(poolName: string, name: string, log: Logger): Promise<void> {
    const pool = this.ctx.settings().pools.find((p) => p.spec.name === poolName);
    if (!pool || this.ctx.shuttingDown()) return;
    const choice = chooseCredential({ name: poolName, connection: pool.connection, credential: pool.credential }, pool.credential === "push" ? this.ports.tokens.getToken(pool.spec.scope) : null, this.ports.registrar !== undefined);
    if (choice.kind === "skip") return;
    const { history, observer, now } = this.ports;
    const createdAt = new Date(now());
    const started = performance.now();
    try {
      history.recordRunnerCreated({ name, pool: poolName, scope: pool.spec.scope, image: pool.image, createdAt });
      if (choice.kind === "refuse") throw new SpawnFailed(choice.message, false, { cause: new TerminalError(choice.message) });
      const { credential, jitMs } = choice.kind === "token" ? { credential: { token: choice.token }, jitMs: undefined } : await this.mintJit(pool, name, started);
      const { controllerId } = this.ctx.settings();
      const timings = await spawnRunner(this.ports.lxd, { name, pool, controllerId, credential, agentScript: this.ports.agentScript, createdAt });
      log.info({ ms: Math.round(performance.now() - started), ...(jitMs !== undefined ? { jitMs } : {}), ...timings }, "runner spawned");
      observer?.spawnDone?.(poolName, performance.now() - started, true);
    } catch (err) {
      await this.spawnFailed(poolName, name, err, log);
      observer?.spawnDone?.(poolName, performance.now() - started, false);
    }
  }

  /**
   * Minted before the instance exists, so a refusal costs no LXD work; the instance records the
   * registration's id, so whoever deletes the instance can delete the registration too.
   */
  private async mintJit(pool: PoolRuntime, name: string, started: number): Promise<{ credential: RunnerCredential; jitMs: number }> {
    const registrar = this.ports.registrar;
    if (!registrar) throw new TerminalError(`pool ${pool.spec.name}: no GitHub client to mint a JIT config with`);
    const jit = await registrar.jitConfig(pool, name).catch((err: unknown) => {
      throw new SpawnFailed(describeError(err), false, { cause: err });
    });
    this.registrations.set(name, { connection: pool.connection, scope: pool.spec.scope, runnerId: jit.runnerId });
    return { credential: { jitconfig: jit.encodedJitConfig, githubRunnerId: jit.runnerId }, jitMs: Math.round(performance.now() - started) };
  }

  private async spawnFailed(poolName: string, name: string, err: unknown, log: Logger): Promise<void> {
    const { history, observer } = this.ports;
    const message = describeError(err);
    const failure = classifyFailure(err);
    const { count, delay, at } = this.ctx.backoff.fail(poolName, message, !failure.transient);
    const leftover = !(err instanceof SpawnFailed) || err.leftover;
    history.recordRunnerResult(name, { exitCode: null, jobSeen: false, outcome: "spawn-failed", detail: message, finishedAt: new Date(at) });
    if (!leftover) {
      history.markRunnerDeleted(name, new Date(at));
      // No instance will ever use this registration: do not leave it in GitHub's list.
      await this.releaseRegistration(name, log);
    }
    history.addEvent({ level: "error", kind: "spawn-failed", pool: poolName, runner: name, message });
    observer?.failure?.(failure.source, "spawn");
    const what = leftover ? "spawn failed; its instance is left for a later pass to collect" : "spawn failed; nothing left behind";
    log.error({ err: message, retryInMs: delay, failures: count, transient: failure.transient }, what);
  }

  /**
   * Deletes the GitHub registration of a JIT runner whose instance is gone. A runner that ran its
   * job needs none (GitHub removes an ephemeral runner after its job); the sweep catches failures.
   */
  async releaseRegistration(name: string, log: Logger): Promise<void> {
    const registration = this.registrations.get(name);
    this.registrations.delete(name);
    if (!registration || !this.ports.registrar) return;
    try {
      const result = await this.ports.registrar.deleteRegistration(registration);
      log.info({ githubRunnerId: registration.runnerId, result }, "runner registration removed from GitHub");
    } catch (err) {
      log.warn({ githubRunnerId: registration.runnerId, err: describeError(err) }, "removing the runner's registration from GitHub failed; the registration sweep retries");
      this.ports.observer?.failure?.("github", "delete-registration");
    }
  }

  async collect(action: Collect, log: Logger): Promise<void> {
    const { history, observer, now } = this.ports;
    const started = performance.now();
    history.markRunnerStopped(action.runner, new Date(now()));
    observer?.runnerGone?.(action.pool, now());
    const collected = await collectRunner(this.ports.lxd, action.runner, this.ctx.settings().logsDir, action.forceStop);
    const outcome = action.outcome ?? collected.outcome;
    const detail = action.outcome ? action.reason : collected.detail;
    const finishedAt = new Date(now());
    // The agent's own times fill what no pass saw: a job shorter than the poll interval, or
    // phases that passed while runnerd was down. Recorded times that exist are kept.
    const result = collected.result;
    if (result?.listening_at != null) history.markRunnerListening(action.runner, new Date(result.listening_at * 1000));
    if (result?.job_seen && result.job_started_at != null) history.markRunnerBusy(action.runner, new Date(result.job_started_at * 1000), result.job_name || undefined);
    history.recordRunnerResult(action.runner, { exitCode: result?.exit_code ?? null, jobSeen: result?.job_seen ?? false, outcome, ...(detail ? { detail } : {}), finishedAt });
    history.markRunnerDeleted(action.runner, finishedAt);
    const facts = { plannedOutcome: action.outcome, outcome, result };
    if (needsRegistrationRelease(facts)) await this.releaseRegistration(action.runner, log);
    else this.registrations.delete(action.runner);
    if (neverListened(facts)) {
      const { delay } = this.ctx.backoff.fail(action.pool, `runner ${action.runner} ended without listening (${outcome}${detail ? `: ${detail}` : ""})`, false);
      log.warn({ retryInMs: delay }, "runner never listened; pool backs off");
    }
    observer?.collected?.(action.pool, outcome);
    const level = outcome === "succeeded" ? "info" : "warn";
    if (level === "warn") history.addEvent({ level, kind: outcome, pool: action.pool, runner: action.runner, message: detail ?? action.reason });
    log[level]({ outcome, job: result?.job_name || undefined, exitCode: result?.exit_code, ms: Math.round(performance.now() - started), reason: action.reason }, "runner collected");
  }

  async remove(action: Delete, log: Logger): Promise<void> {
    // The plan may have seen this runner idle a moment ago: never delete one that took a job since.
    const status = parseAgentStatus(await this.ports.lxd.pullFile(action.runner, paths.status).catch(() => null));
    if (tookJobSincePlanned(status)) {
      log.info({ reason: action.reason }, "runner took a job meanwhile; not deleted");
      return;
    }
    await deleteInstance(this.ports.lxd, action.runner);
    const at = new Date(this.ports.now());
    this.ports.observer?.runnerGone?.(action.pool, at.getTime());
    this.ports.observer?.collected?.(action.pool, action.outcome);
    this.ports.history.recordRunnerResult(action.runner, { exitCode: null, jobSeen: false, outcome: action.outcome, detail: action.reason, finishedAt: at });
    this.ports.history.markRunnerDeleted(action.runner, at);
    await this.releaseRegistration(action.runner, log);
    log.info({ reason: action.reason }, "runner deleted");
  }
}
