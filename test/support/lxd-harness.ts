// Test harness for everything that needs a real LXD: finds (or refuses without) the daemon,
// builds the busybox runner image, starts the GitHub emulator, writes runnerd configs whose
// instances reach the emulator through a loopback `proxy` device, and cleans up after itself.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { scopeKey } from "../../src/config/index.js";
import { openStore } from "../../src/store/index.js";
import { createLxdClient, detectLxdSocket, instanceNameFromLifecycle, isInstanceStopEvent, type EventSubscription, type LxdClient } from "../../src/lxd/index.js";
import { deleteRunner } from "../../src/pools/collect.js";
import { keys } from "../../src/pools/ownership.js";
import { startGitHubEmulator, type GitHubEmulator } from "./github-emulator/index.js";

const run = promisify(execFile);
/** The checkout's root, found from here whether running from test/ (vitest) or dist/test/. */
export const repoRoot = findRepoRoot(import.meta.dirname);

function findRepoRoot(start: string): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "test", "support", "images"))) return dir;
  }
  throw new Error(`cannot find the runnerd checkout above ${start}`);
}
export const testImage = "runnerd-test/busybox";
export const testStoragePool = process.env.RUNNERD_TEST_POOL ?? "runnerd-test";

/** Why LXD tests cannot run here, or undefined when they can. */
export async function lxdUnavailableReason(): Promise<string | undefined> {
  let socketPath: string;
  try {
    socketPath = detectLxdSocket();
  } catch (err) {
    return (err as Error).message;
  }
  const client = createLxdClient({ socketPath, timeoutMs: 5000 });
  try {
    await client.serverInfo();
    if (!(await client.getStoragePool(testStoragePool))) return `storage pool ${testStoragePool} is missing (run scripts/setup-lxd.sh)`;
    return undefined;
  } catch (err) {
    return `LXD at ${socketPath} does not answer: ${(err as Error).message}`;
  } finally {
    await client.close();
  }
}

/**
 * LXD tests are skipped with a clear message when LXD is missing, except in CI
 * (RUNNERD_REQUIRE_LXD=1), where a missing LXD is a failure.
 */
export async function lxdOrSkip(): Promise<{ skip: boolean; reason?: string }> {
  const reason = await lxdUnavailableReason();
  if (!reason) return { skip: false };
  if (process.env.RUNNERD_REQUIRE_LXD === "1") throw new Error(`RUNNERD_REQUIRE_LXD=1 but LXD is not usable: ${reason}`);
  console.warn(`skipping LXD tests: ${reason} (run scripts/setup-lxd.sh; set RUNNERD_REQUIRE_LXD=1 to make this a failure)`);
  return { skip: true, reason };
}

export async function ensureTestImage(): Promise<void> {
  await run("bash", [join(repoRoot, "test/support/images/build-busybox-image.sh"), testImage], { maxBuffer: 16 * 1024 * 1024 });
}

export interface PoolInput {
  name: string;
  repo?: string;
  org?: string;
  runnerGroup?: string;
  idle: number;
  max?: number;
  /** `runners.idle_timeout`, e.g. "1s"; default the config's (5m). */
  idleTimeout?: string;
  /** `default_labels`; default true. */
  defaultLabels?: boolean;
  labels?: string[];
  image?: string;
  /** Extra LXD devices for the pool's instances, next to the emulator's proxy device. */
  devices?: Record<string, Record<string, string>>;
}

export interface TestWorld {
  emulator: GitHubEmulator;
  lxd: LxdClient;
  controllerId: string;
  stateDir: string;
  configPath: string;
  writeConfig(pools: PoolInput[], extra?: Record<string, unknown>): void;
  /** Mints a registration token at the emulator and stores it as `runnerd token set` would. */
  pushToken(repoOrOrg: { repo: string } | { org: string }, expiresInSeconds?: number): void;
  instances(): Promise<{ name: string; status: string; pool: string }[]>;
  storageUsed(): Promise<number>;
  /** Force-deletes every instance of this test's controller. */
  removeInstances(): Promise<void>;
  /** Images `runnerd image build NAME` makes for this world, removed at cleanup. */
  trackImage(name: string): void;
  cleanup(): Promise<void>;
}

export async function createTestWorld(options: { longPollMs?: number; assignTimeoutMs?: number } = {}): Promise<TestWorld> {
  const emulator = await startGitHubEmulator({ longPollMs: options.longPollMs ?? 5000, assignTimeoutMs: options.assignTimeoutMs ?? 20_000 });
  const lxd = createLxdClient({ socketPath: detectLxdSocket() });
  const controllerId = `test-${randomBytes(3).toString("hex")}`;
  const stateDir = mkdtempSync(join(tmpdir(), "runnerd-test-"));
  const configPath = join(stateDir, "config.yaml");

  let cleaned = false;
  const trackedImages = new Set<string>();
  const world: TestWorld = {
    emulator,
    lxd,
    controllerId,
    stateDir,
    configPath,
    writeConfig(pools, extra = {}) {
      const config = {
        controller_id: controllerId,
        state_dir: stateDir,
        resync_interval: "2s",
        boot_timeout: "60s",
        log_level: process.env.RUNNERD_TEST_LOG_LEVEL ?? "warn",
        lxd: { storage_pool: testStoragePool },
        // Any free port: several daemons (tests, benches) may run on one machine.
        http: { listen: "127.0.0.1:0" },
        github: { emu: { url: emulator.url, auth: { type: "push" } } },
        ...extra,
        pools: pools.map((p) => ({
          name: p.name,
          scope: p.org ? { org: p.org, ...(p.runnerGroup ? { runner_group: p.runnerGroup } : {}) } : { repo: p.repo ?? `acme/${p.name}` },
          labels: p.labels ?? [],
          ...(p.defaultLabels === false ? { default_labels: false } : {}),
          runners: { idle: p.idle, ...(p.max !== undefined ? { max: p.max } : {}), ...(p.idleTimeout !== undefined ? { idle_timeout: p.idleTimeout } : {}) },
          image: p.image ?? testImage,
          name_prefix: "rt",
          instance: {
            // No NIC: the runner reaches the emulator on the host's loopback through LXD.
            devices: {
              github: { type: "proxy", bind: "instance", listen: `tcp:127.0.0.1:${emulator.port}`, connect: `tcp:127.0.0.1:${emulator.port}` },
              ...p.devices,
            },
          },
        })),
      };
      writeFileSync(configPath, stringify(config), { mode: 0o600 });
    },
    pushToken(scope, expiresInSeconds) {
      const grant = emulator.mintRegistrationToken(scope, expiresInSeconds === undefined ? undefined : { expiresInSeconds });
      const key = "repo" in scope ? scopeKey({ type: "repo", repo: scope.repo }) : scopeKey({ type: "org", org: scope.org });
      const store = openStore(stateDir);
      store.setToken(key, grant.token, new Date(grant.expires_at), "test");
      store.close();
    },
    async instances() {
      const list = await lxd.listInstances({ configKey: keys.controller, value: controllerId });
      return list.map((i) => ({ name: i.name, status: i.status, pool: i.config[keys.pool] ?? "" }));
    },
    async storageUsed() {
      return (await lxd.storagePoolResources(testStoragePool)).space.used;
    },
    async removeInstances() {
      // A runner may be powering itself off right now: deleteRunner waits that out.
      const list = await lxd.listInstances({ configKey: keys.controller, value: controllerId }).catch(() => []);
      await Promise.all(list.map((i) => deleteRunner(lxd, i.name).catch((err: unknown) => console.warn(`could not remove ${i.name}: ${(err as Error).message}`))));
    },
    trackImage(name) {
      trackedImages.add(name);
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await world.removeInstances();
      for (const image of await lxd.listImages().catch(() => [])) {
        if (trackedImages.has(image.properties["runnerd.image_name"] ?? "")) await lxd.deleteImage(image.fingerprint).catch(() => undefined);
      }
      await emulator.close();
      await lxd.close();
      if (process.env.RUNNERD_TEST_KEEP === "1") console.warn(`kept state dir ${stateDir}`);
      else rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Records when LXD first reported each instance stopped (ms since the epoch), for latency figures. */
export function watchStops(lxd: LxdClient): { stops: Map<string, number>; events: EventSubscription } {
  const stops = new Map<string, number>();
  const events = lxd.subscribeEvents({
    types: ["lifecycle"],
    onEvent: (event) => {
      const name = event.type === "lifecycle" ? instanceNameFromLifecycle(event) : undefined;
      if (event.type === "lifecycle" && name && isInstanceStopEvent(event) && !stops.has(name)) stops.set(name, Date.now());
    },
  });
  return { stops, events };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let built: Promise<void> | undefined;

/**
 * Builds dist/ once per test process, for tests that run `bin/runnerd` as a child process. If the
 * build reports errors (someone else's half-edited file), dist is still used when every file under
 * src/ compiled to something newer than itself.
 */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    try {
      await run("npm", ["run", "build"], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const stale = staleDistFiles();
      if (stale.length > 0) throw new Error(`npm run build failed and dist/ is stale (${stale.slice(0, 3).join(", ")}): ${(err as { stdout?: string }).stdout ?? (err as Error).message}`);
      console.warn(`npm run build reported errors outside src/; using the fresh dist/src: ${((err as { stdout?: string }).stdout ?? "").slice(0, 500)}`);
    }
  })();
  return built;
}

function staleDistFiles(): string[] {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
      const rel = join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (rel.endsWith(".ts") && !rel.endsWith(".test.ts")) {
        const out = join(repoRoot, "dist", rel.replace(/\.ts$/, ".js"));
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(repoRoot, rel)).mtimeMs) stale.push(rel);
      }
    }
  };
  walk("src");
  return stale;
}

export const runnerdBin = join(repoRoot, "bin", "runnerd");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/runnerd ARGS` with optional stdin; never throws on a non-zero exit. */
export function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runnerdBin, ...args], { cwd: repoRoot, env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

export interface ChildDaemon {
  readonly pid: number;
  readonly logFile: string;
  readonly process: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (clean shutdown) and wait; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

let childCount = 0;

/** Starts `node bin/runnerd --config <world's config> up` as a child; its output goes to a log file in the state dir. */
export function startChildDaemon(world: TestWorld): ChildDaemon {
  const logFile = join(world.stateDir, `daemon-${++childCount}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(process.execPath, [runnerdBin, "--config", world.configPath, "up"], { cwd: repoRoot, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error("could not start the runnerd child process");
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return {
    pid: child.pid,
    logFile,
    process: child,
    exited,
    async stop(timeoutMs = 40_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
