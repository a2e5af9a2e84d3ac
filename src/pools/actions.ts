// The actions a plan asks for — spawn, collect, delete — and what each records: the runner's
// history, its metrics, its pool's failures, and the GitHub registration of a JIT runner.
import type { Logger } from "pino";
import { classifyFailure, describeError, SpawnFailed, TerminalError } from "../errors.js";
import { parseAgentStatus } from "./agent-status.js";
import { collectRunner, deleteInstance } from "./collect.js";
import { chooseCredential, needsRegistrationRelease, tookJobSincePlanned } from "./decisions.js";
import type { Transition } from "./observe.js";
import { paths } from "./ownership.js";
import { statusRead } from "./read-limits.js";
import type { ActionContext, ActionPorts, Registration } from "./ports.js";
import { LostSpawns, settledAsFailed } from "./lost-spawns.js";
import { applyRunnerEnd } from "./runner-ends.js";
import type { PoolRuntime } from "./settings.js";
import { spawnRunner, type RunnerCredential, type SpawnInput } from "./spawn.js";
import type { Action, ObservedRunner } from "./types.js";

type Collect = Extract<Action, { kind: "collect" }>;
/** After this many, a collection whose result read hangs records what it has (a hostile FIFO hangs forever). */
const maxCollectDeferrals = 3;
type Delete = Extract<Action, { kind: "delete" }>;

export class RunnerActions {
  /** JIT runners' registrations as last observed or minted: runner name -> where to delete it. */
  private readonly registrations = new Map<string, Registration>();
  /** What a pass saw of each runner: when it was made, and from which image (fingerprint). */
  private readonly seen = new Map<string, { createdAt: number; image?: string }>();
  /** Runners a pass saw busy: they took a job, whatever their result says (it may be lost). */
  private readonly sawJob = new Set<string>();
  /** Runners whose registration runnerd deleted while their instance lived (a scale-down whose instance deletion failed). */
  private readonly released = new Set<string>();
  /** Collections put off while LXD had not finished a stop (collect.ts): runner -> how often. */
  private readonly deferrals = new Map<string, number>();
  /** Spawns whose instance may exist although the spawn failed: settled from what LXD holds (lost-spawns.ts). */
  readonly lost = new LostSpawns();

  constructor(
    private readonly ports: ActionPorts,
    private readonly ctx: ActionContext,
  ) {}

  run(action: Action, name: string, log: Logger): Promise<void> {
    const alog = log.child({ pool: action.pool, runner: name });
    switch (action.kind) {
      case "spawn":
        return this.spawn(action.pool, name, action.target !== undefined ? alog.child({ target: action.target }) : alog, placementOf(action));
      case "collect":
        return this.collect(action, alog);
      case "delete":
        return this.remove(action, alog);
    }
  }

  /** Takes in what a pass saw: registrations to delete later, and agent status changes for the history. */
  noteObserved(runners: readonly ObservedRunner[], transitions: readonly Transition[]): void {
    for (const r of runners) {
      if (r.githubRunnerId !== undefined && r.connection !== undefined && r.scope !== undefined && !this.released.has(r.name)) {
        this.registrations.set(r.name, { connection: r.connection, scope: r.scope, runnerId: r.githubRunnerId });
      }
      this.seen.set(r.name, { createdAt: r.createdAt, ...(r.image !== undefined ? { image: r.image } : {}) });
      if (r.phase === "busy") this.sawJob.add(r.name);
    }
    for (const { runner, pool, status } of transitions) {
      const at = new Date(status.since);
      if (status.state === "idle") {
        this.ports.history.markRunnerListening(runner, at);
        this.ports.observer?.runnerListening?.(pool, at.getTime());
      } else if (status.state === "busy") this.ports.history.markRunnerBusy(runner, at, status.job);
    }
    for (const gone of this.lost.observe(runners)) void this.spawnSettled(gone.name, `${gone.message} (settled: LXD holds no instance of it)`, gone.log);
  }

  /** Forgets registrations of runners neither listed nor in flight (deleted by hand, say); the sweep covers them. */
  forget(present: ReadonlySet<string>, inFlight: ReadonlyMap<string, unknown>): void {
    if (this.seen.size + this.registrations.size < 256) return;
    for (const name of new Set([...this.seen.keys(), ...this.registrations.keys()])) if (!present.has(name) && !inFlight.has(name)) this.forgetRunner(name);
  }

  private forgetRunner(name: string): void {
    this.registrations.delete(name);
    this.seen.delete(name);
    this.sawJob.delete(name);
    this.released.delete(name);
    this.deferrals.delete(name);
  }

  async spawn(poolName: string, name: string, log: Logger, placement?: SpawnInput["placement"]): Promise<void> {
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
      const timings = await spawnRunner(this.ports.lxd, { name, pool, controllerId, credential, agentScript: this.ports.agentScript, createdAt, ...(placement ? { placement } : {}) });
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

  /**
   * Counts the failure against the pool; logs it and records an event only when the pool's state
   * changes (it was working, or failed differently), not on every attempt. A spawn that may have
   * left an instance (a lost answer, a half-made instance LXD would not delete) is not recorded as
   * failed yet: what LXD holds at the next passes settles it.
   */
  private async spawnFailed(poolName: string, name: string, err: unknown, log: Logger): Promise<void> {
    const { history, observer } = this.ports;
    const message = describeError(err);
    const failure = classifyFailure(err);
    const report = { reason: `spawn-${failure.source}`, key: message.replaceAll(name, "<runner>") };
    const { count, delay, changed } = this.ctx.backoff.fail(poolName, message, !failure.transient, report);
    const leftover = !(err instanceof SpawnFailed) || err.leftover;
    observer?.failure?.(failure.source, "spawn");
    const what = leftover ? "spawn failed; what LXD holds of its instance settles it at the next pass" : "spawn failed; nothing left behind";
    const fields = { err: message, retryInMs: delay, failures: count, transient: failure.transient };
    if (changed) {
      history.addEvent({ level: "error", kind: "spawn-failed", pool: poolName, runner: name, message });
      log.error(fields, what);
    } else log.debug(fields, `${what} (the pool keeps failing the same way)`);
    if (leftover) this.lost.add(name, poolName, message, log);
    else await this.spawnSettled(name, message, log);
  }

  /** The spawn failed for sure: its result, and no registration left in GitHub's list for an instance that will never use it. */
  private async spawnSettled(name: string, detail: string, log: Logger): Promise<void> {
    const at = new Date(this.ports.now());
    this.ports.history.recordRunnerResult(name, { exitCode: null, jobSeen: false, outcome: "spawn-failed", detail, finishedAt: at });
    this.ports.history.markRunnerDeleted(name, at);
    await this.releaseRegistration(name, log);
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
    const deferrals = this.deferrals.get(action.runner) ?? 0;
    if (deferrals === 0) {
      // Once per runner: a collection put off earlier already marked it.
      history.markRunnerStopped(action.runner, new Date(now()));
      observer?.runnerGone?.(action.pool, now());
    }
    const keeping = { ...this.ctx.settings(), evacuated: action.outcome === "member-evacuated" };
    // Only a runner that stopped by itself: put off, a planned outcome (a timeout) would be lost.
    const mayDefer = deferrals < maxCollectDeferrals && action.outcome === undefined && !action.forceStop;
    const collected = await collectRunner(this.ports.lxd, action.runner, keeping, action.forceStop, mayDefer);
    if ("deferred" in collected) {
      this.deferrals.set(action.runner, deferrals + 1);
      return log.warn({ detail: collected.deferred, deferrals: deferrals + 1 }, "collection put off; a later pass tries again");
    }
    // A spawn whose answer was lost, never started: it failed after all (its failure counted then).
    const spawnFailed = settledAsFailed(this.lost.take(action.runner), collected.result !== null, action.outcome);
    const outcome = action.outcome ?? (spawnFailed ? "spawn-failed" : collected.outcome);
    const detail = action.outcome ? action.reason : (spawnFailed ?? collected.detail);
    const finishedAt = new Date(now());
    // The agent's own times fill what no pass saw: a job shorter than the poll interval, or
    // phases that passed while runnerd was down. Recorded times that exist are kept.
    const result = collected.result;
    if (result?.listening_at != null) history.markRunnerListening(action.runner, new Date(result.listening_at * 1000));
    if (result?.job_seen && result.job_started_at != null) history.markRunnerBusy(action.runner, new Date(result.job_started_at * 1000), result.job_name || undefined);
    history.recordRunnerResult(action.runner, { exitCode: result?.exit_code ?? null, jobSeen: result?.job_seen ?? false, outcome, ...(detail ? { detail } : {}), finishedAt });
    history.markRunnerDeleted(action.runner, finishedAt);
    const facts = { plannedOutcome: action.outcome, outcome, result, sawJob: this.sawJob.has(action.runner), registrationReleased: this.released.has(action.runner) };
    if (needsRegistrationRelease(facts) && !facts.registrationReleased) await this.releaseRegistration(action.runner, log);
    const runtime = this.ctx.settings().pools.find((p) => p.spec.name === action.pool);
    const seen = this.seen.get(action.runner);
    const end = { pool: action.pool, runner: action.runner, runtime, image: seen?.image, createdAt: seen?.createdAt, facts, detail, result };
    if (!spawnFailed) applyRunnerEnd(end, this.ports, { ...this.ctx, now }, log);
    this.forgetRunner(action.runner);
    observer?.collected?.(action.pool, outcome);
    const level = outcome === "succeeded" ? "info" : "warn";
    // A refused runner version has its own event (runner-ends.ts), with what to do about it.
    if (level === "warn" && outcome !== "runner-deprecated") history.addEvent({ level, kind: outcome, pool: action.pool, runner: action.runner, message: detail ?? action.reason });
    log[level]({ outcome, job: result?.job_name || undefined, exitCode: result?.exit_code, ms: Math.round(performance.now() - started), reason: action.reason, detail }, "runner collected");
  }

  /**
   * Scale-down and rolling. A JIT runner's registration is deleted first, as the atomic "is it
   * still idle?" check: GitHub refuses (422) to delete a runner that runs a job (OpenAPI
   * `actions/delete-self-hosted-runner-from-repo`), so a 422 keeps the runner and a deleted one
   * (204) lets the instance go at once. A registration already gone (404), push-mode runners (no
   * credential on the server) and JIT runners whose registration cannot be deleted now fall back
   * to the agent's status file: a runner that took a job since the plan is kept.
   */
  async remove(action: Delete, log: Logger): Promise<void> {
    const registration = this.registrations.get(action.runner);
    const claimed = registration ? await this.claimRegistration(action.runner, registration, log) : "unchecked";
    if (claimed === "busy") {
      log.info({ reason: action.reason, githubRunnerId: registration?.runnerId }, "runner took a job meanwhile (GitHub refused to delete its registration); not deleted");
      this.ctx.tookJob?.(action.runner, this.ports.now());
      return;
    }
    if (claimed !== "released") {
      // The plan may have seen this runner idle a moment ago: never delete one that took a job
      // since. A registration already gone may be one GitHub removed after a job done meanwhile.
      const status = parseAgentStatus(await this.ports.lxd.pullFile(action.runner, paths.status, statusRead).catch(() => null));
      if (tookJobSincePlanned(status)) {
        log.info({ reason: action.reason }, "runner took a job meanwhile; not deleted");
        if (status) this.ctx.tookJob?.(action.runner, status.since);
        return;
      }
    }
    await deleteInstance(this.ports.lxd, action.runner);
    const at = new Date(this.ports.now());
    this.ports.observer?.runnerGone?.(action.pool, at.getTime());
    this.ports.observer?.collected?.(action.pool, action.outcome);
    this.ports.history.recordRunnerResult(action.runner, { exitCode: null, jobSeen: false, outcome: action.outcome, detail: action.reason, finishedAt: at });
    this.ports.history.markRunnerDeleted(action.runner, at);
    if (claimed === "unchecked") await this.releaseRegistration(action.runner, log);
    this.forgetRunner(action.runner);
    log.info({ reason: action.reason }, "runner deleted");
  }

  /**
   * Deletes the registration of a runner about to be removed. `released`: deleted, the runner can
   * take no job now; `gone`: GitHub had no such registration (404), which is also what a runner
   * that ran a job meanwhile leaves behind; `busy`: GitHub refused, it has a job; `unchecked`:
   * GitHub could not say (no client, an error). Unless released, the caller reads the agent's status.
   */
  private async claimRegistration(name: string, registration: Registration, log: Logger): Promise<"released" | "gone" | "busy" | "unchecked"> {
    if (!this.ports.registrar) return "unchecked";
    try {
      const result = await this.ports.registrar.deleteRegistration(registration);
      if (result === "busy") return "busy";
      this.registrations.delete(name);
      log.info({ githubRunnerId: registration.runnerId, result }, "runner registration removed from GitHub before its instance");
      if (result === "gone") return "gone";
      // Its runner now ends on its own ("no longer exists on the server"): runnerd's doing, not a failure.
      this.released.add(name);
      return "released";
    } catch (err) {
      log.warn({ githubRunnerId: registration.runnerId, err: describeError(err) }, "removing the runner's registration from GitHub failed; checking the agent's status instead");
      this.ports.observer?.failure?.("github", "delete-registration");
      return "unchecked";
    }
  }
}

/** Where a spawn goes on a cluster: runnerd's choice of member or group, or the server's. */
function placementOf(action: Extract<Action, { kind: "spawn" }>): SpawnInput["placement"] {
  if (!action.clustered) return undefined;
  return action.target !== undefined ? { target: action.target } : {};
}
