// Fakes of the reconciler's ports for unit tests: an in-memory LXD whose calls a test can hold
// and release, a token store, a history that records what it is told, and a GitHub registrar.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { LxdError } from "../errors.js";
import { keys, ownershipConfig, paths } from "./ownership.js";
import type { CreateInstanceRequest, HistoryPort, ImagePort, InstanceSummary, LxdPort, ReconcilerObserver, RegistrarPort, TokenPort } from "./ports.js";
import type { PoolRuntime, ReconcilerSettings } from "./settings.js";
import type { PoolSpec } from "./types.js";

export const silentLogger = pino({ level: "silent" });

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
  /** Resolves once a held call is waiting on this. */
  reached: Promise<void>;
}

export function deferred<T = void>(): Deferred<T> & { markReached(): void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  let markReached!: () => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  const reached = new Promise<void>((res) => (markReached = res));
  return { promise, resolve, reject, reached, markReached };
}

/**
 * Lets pending promise callbacks and I/O run (setImmediate is not faked by the tests) until the
 * condition holds. Bounded by real time, not by rounds: actions write logs to disk, and on a
 * loaded CI host that took longer than 2000 rounds.
 */
export async function until(condition: () => boolean, what = "condition", limitMs = 10_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (condition()) return;
  throw new Error(`timed out waiting for ${what}`);
}

export async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface FakeInstance {
  status: "Running" | "Stopped";
  config: Record<string, string>;
  files: Map<string, string>;
}

export class FakeLxd implements LxdPort {
  readonly instances = new Map<string, FakeInstance>();
  readonly calls: string[] = [];
  readonly aliases = new Map<string, string>();
  /** Throws this from createInstance (per runner name, or for all with "*"). */
  readonly createErrors = new Map<string, Error>();
  /**
   * Calls whose answer is lost: LXD does what was asked, then the caller gets a reset connection
   * (status 0), as when LXD dies mid-call. Keys: "create <name>", "start <name>", or "create" /
   * "start" for any; each is used once.
   */
  readonly lostAnswers = new Set<string>();
  private readonly holds = new Map<string, (Deferred & { markReached(): void })[]>();

  /** The next call `key` ("list", "create <name>", "delete <name>", "create" for any) waits until released. */
  hold(key: string): Deferred {
    const d = deferred();
    this.holds.set(key, [...(this.holds.get(key) ?? []), d]);
    return d;
  }

  /** An instance of `pool` as a spawn would have made it. */
  addRunner(name: string, pool: string, opts: { status?: "Running" | "Stopped"; createdAt: number; agent?: { state: string; at: number }; result?: object; scope?: string; extra?: Record<string, string> }): void {
    const config = { ...ownershipConfig("test", pool, opts.scope ?? `repo:acme/${pool}`, "img", new Date(opts.createdAt)), ...opts.extra };
    this.instances.set(name, { status: opts.status ?? "Running", config, files: new Map() });
    if (opts.agent) this.setAgent(name, opts.agent.state, opts.agent.at);
    if (opts.result) this.instances.get(name)?.files.set(paths.result, JSON.stringify(opts.result));
  }

  /** Writes the agent's status file as the agent does (`at` in ms, stored in whole seconds). */
  setAgent(name: string, state: string, at: number): void {
    this.instances.get(name)?.files.set(paths.status, `state=${state}\nat=${Math.floor(at / 1000)}\n`);
  }

  count(prefix: string): number {
    return this.calls.filter((c) => c.startsWith(prefix)).length;
  }

  private async gate(op: string, name?: string): Promise<void> {
    for (const key of name === undefined ? [op] : [`${op} ${name}`, op]) {
      const d = this.holds.get(key)?.shift();
      if (d) {
        d.markReached();
        await d.promise;
        return;
      }
    }
  }

  async listInstances(filter: { configKey: string; value: string }): Promise<InstanceSummary[]> {
    this.calls.push("list");
    // Taken before waiting: what LXD answered, even if the world changes before it arrives.
    const list = [...this.instances].filter(([, i]) => i.config[filter.configKey] === filter.value).map(([name, i]) => ({ name, status: i.status, config: { ...i.config } }));
    await this.gate("list");
    return list;
  }

  async createInstance(request: CreateInstanceRequest): Promise<void> {
    this.calls.push(`create ${request.name}`);
    await this.gate("create", request.name);
    const err = this.createErrors.get(request.name) ?? this.createErrors.get("*");
    if (err) throw err;
    this.instances.set(request.name, { status: "Stopped", config: { ...request.config }, files: new Map() });
    this.loseAnswer("create", request.name);
  }

  private loseAnswer(op: string, name: string): void {
    const key = [`${op} ${name}`, op].find((k) => this.lostAnswers.has(k));
    if (key === undefined) return;
    this.lostAnswers.delete(key);
    throw new LxdError(`${op} instance ${name}: LXD at /var/lib/lxd/unix.socket not reached: socket hang up (ECONNRESET)`, 0, { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) });
  }

  async startInstance(name: string): Promise<void> {
    this.calls.push(`start ${name}`);
    await this.gate("start", name);
    const i = this.instances.get(name);
    if (!i) throw new Error(`no instance ${name}`);
    i.status = "Running";
    this.loseAnswer("start", name);
  }

  async stopInstance(name: string): Promise<void> {
    this.calls.push(`stop ${name}`);
    const i = this.instances.get(name);
    if (i) i.status = "Stopped";
  }

  async deleteInstance(name: string): Promise<void> {
    this.calls.push(`delete ${name}`);
    await this.gate("delete", name);
    this.instances.delete(name);
  }

  async makeDirectory(): Promise<void> {}

  async pushFile(instance: string, path: string, content: Buffer | string): Promise<void> {
    this.instances.get(instance)?.files.set(path, content.toString());
  }

  /** Paths whose reads hang until their deadline, as LXD does on a FIFO a job left. */
  readonly hangingReads = new Set<string>();
  /** How long a hanging read takes to time out; null: its whole timeout, as LXD's would. */
  hangMs: number | null = null;

  async pullFile(instance: string, path: string, bounds: { timeoutMs: number; maxBytes: number }): Promise<Buffer | null> {
    this.calls.push(`pull ${path}`);
    if (this.hangingReads.has(path)) {
      await new Promise((resolve) => setTimeout(resolve, this.hangMs ?? bounds.timeoutMs));
      throw new LxdError(`pull file ${path}: no answer within ${bounds.timeoutMs} ms`, 0, { cause: Object.assign(new Error("no answer"), { code: "ETIMEDOUT" }) });
    }
    const content = this.instances.get(instance)?.files.get(path);
    if (content !== undefined && content.length > bounds.maxBytes) throw new LxdError(`pull file ${path}: the answer is larger than ${bounds.maxBytes} bytes`, 413);
    return content === undefined ? null : Buffer.from(content);
  }

  async pullFileTo(instance: string, path: string, dest: string, bounds: { timeoutMs: number; maxBytes: number }): Promise<{ bytes: number; truncated: boolean } | null> {
    this.calls.push(`pull-to ${path}`);
    if (this.hangingReads.has(path)) return this.pullFile(instance, path, bounds).then(() => null);
    const content = this.instances.get(instance)?.files.get(path);
    if (content === undefined) return null;
    const kept = Buffer.from(content).subarray(0, bounds.maxBytes);
    writeFileSync(dest, kept, { mode: 0o640 });
    return { bytes: kept.length, truncated: kept.length < Buffer.byteLength(content) };
  }

  /** Names whose stop LXD never finishes processing in the fake (waitForStopCleanup runs out). */
  readonly unprocessedStops = new Set<string>();

  async waitForStopCleanup(name: string): Promise<boolean> {
    this.calls.push(`wait-stop ${name}`);
    return !this.unprocessedStops.has(name);
  }

  async getImageAlias(alias: string): Promise<{ target: string } | null> {
    this.calls.push(`alias ${alias}`);
    const target = this.aliases.get(alias);
    return target ? { target } : null;
  }
}

export class FakeTokens implements TokenPort {
  readonly tokens = new Map<string, { token: string; expiresAt: Date }>();

  set(scope: string, expiresAt: number): void {
    this.tokens.set(scope, { token: `token-${scope}`, expiresAt: new Date(expiresAt) });
  }

  getToken(scope: string): { token: string; expiresAt: Date } | null {
    return this.tokens.get(scope) ?? null;
  }

  listTokens(): { scope: string; expiresAt: Date }[] {
    return [...this.tokens].map(([scope, t]) => ({ scope, expiresAt: t.expiresAt }));
  }
}

/** Records every history call as `[method, ...args]`. */
export function fakeHistory(): HistoryPort & { calls: [string, ...unknown[]][]; of(method: string): unknown[][] } {
  const calls: [string, ...unknown[]][] = [];
  const record = (method: string) => (...args: unknown[]) => void calls.push([method, ...args]);
  return {
    calls,
    of: (method) => calls.filter((c) => c[0] === method).map((c) => c.slice(1)),
    recordRunnerCreated: record("recordRunnerCreated"),
    markRunnerListening: record("markRunnerListening"),
    markRunnerBusy: record("markRunnerBusy"),
    markRunnerStopped: record("markRunnerStopped"),
    recordRunnerResult: record("recordRunnerResult"),
    markRunnerDeleted: record("markRunnerDeleted"),
    addEvent: record("addEvent"),
  };
}

export function fakeObserver(): ReconcilerObserver & { failures: string[]; listening: string[] } {
  const failures: string[] = [];
  const listening: string[] = [];
  return { failures, listening, failure: (source, op) => void failures.push(`${source} ${op}`), runnerListening: (pool) => void listening.push(pool) };
}

export class FakeRegistrar implements RegistrarPort {
  readonly deleted: { connection: string; scope: string; runnerId: number }[] = [];
  /** Every delete asked for, answered or not. */
  readonly asked: number[] = [];
  /** Registrations that run a job: GitHub answers 422 (`busy`) and keeps them. */
  readonly busy = new Set<number>();
  /** Registrations GitHub no longer has (404, `gone`). */
  readonly gone = new Set<number>();
  nextId = 100;
  jitError: Error | undefined;
  deleteError: Error | undefined;

  async jitConfig(_pool: PoolRuntime, name: string): Promise<{ runnerId: number; encodedJitConfig: string }> {
    if (this.jitError) throw this.jitError;
    return { runnerId: this.nextId++, encodedJitConfig: `jit-${name}` };
  }

  async deleteRegistration(registration: { connection: string; scope: string; runnerId: number }): Promise<"deleted" | "gone" | "busy"> {
    this.asked.push(registration.runnerId);
    if (this.deleteError) throw this.deleteError;
    if (this.busy.has(registration.runnerId)) return "busy";
    if (this.gone.has(registration.runnerId)) return "gone";
    this.deleted.push(registration);
    return "deleted";
  }
}

/** An ImagePort that records what it was asked. */
export function fakeImages(): ImagePort & { rebuilds: [string, string][]; checks: [string, string][] } {
  const rebuilds: [string, string][] = [];
  const checks: [string, string][] = [];
  return {
    rebuilds,
    checks,
    rebuildNow: async (image, reason) => void rebuilds.push([image, reason]),
    checkSoon: async (image, reason) => void checks.push([image, reason]),
  };
}

export function poolRuntime(name: string, spec: Partial<PoolSpec> = {}, credential: "push" | "jit" = "push"): PoolRuntime {
  return {
    spec: { name, scope: `repo:acme/${name}`, floor: 1, ceiling: 4, ...spec, credential },
    connection: "main",
    scopeRef: { type: "repo", repo: `acme/${name}` },
    credential,
    registrationUrl: `https://github.com/acme/${name}`,
    labels: ["linux"],
    defaultLabels: true,
    image: "runnerd/default",
    namePrefix: "rd",
    profiles: ["default"],
    instanceConfig: {},
    devices: {},
  };
}

export function reconcilerSettings(pools: PoolRuntime[], over: Partial<ReconcilerSettings> = {}): ReconcilerSettings {
  return {
    controllerId: "test",
    logsDir: join(mkdtempSync(join(tmpdir(), "runnerd-pools-")), "logs"),
    maxRunnerLogBytes: 64 * 1024 * 1024,
    plan: { maxRunners: 10, bootTimeoutMs: 300_000, jobTimeoutMs: 3_600_000, tokenMinValidityMs: 300_000, startingPollMs: 500, finishingTimeoutMs: 60_000 },
    resyncIntervalMs: 3_600_000,
    spawnConcurrency: 4,
    collectConcurrency: 8,
    pools,
    ...over,
  };
}

/** A JIT runner's instance keys, as a spawn records them. */
export function jitKeys(runnerId: number, connection = "main"): Record<string, string> {
  return { [keys.githubRunnerId]: String(runnerId), [keys.connection]: connection };
}
