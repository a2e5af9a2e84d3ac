// Test harness for everything that needs a real LXD. The emulator-backed world, the busybox image
// and the waits are runnerd's own (src/cli/demo/, `runnerd demo` uses them); this adds what only the
// tests need: skipping without LXD, building dist/, and running bin/runnerd as a child process.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { backend, lxdUnavailableReason, repoRoot } from "../../src/cli/demo/lxd-host.js";
import type { EmulatorWorld } from "../../src/cli/demo/world.js";

export { repoRoot, lxdUnavailableReason, waitFor, watchStops, backend, backendSocket } from "../../src/cli/demo/lxd-host.js";
export { busyboxImage as testImage, storagePool as testStoragePool, ensureBusyboxImage as ensureTestImage } from "../../src/cli/demo/lxd-host.js";
export { createEmulatorWorld as createTestWorld, type EmulatorWorld as TestWorld, type PoolInput } from "../../src/cli/demo/world.js";

const run = promisify(execFile);

/**
 * LXD tests (on Incus with RUNNERD_BACKEND=incus) are skipped with a clear message when the
 * daemon is missing, except in CI
 * (RUNNERD_REQUIRE_LXD=1), where a missing LXD is a failure.
 */
export async function lxdOrSkip(): Promise<{ skip: boolean; reason?: string }> {
  const reason = await lxdUnavailableReason();
  if (!reason) return { skip: false };
  if (process.env.RUNNERD_REQUIRE_LXD === "1") throw new Error(`RUNNERD_REQUIRE_LXD=1 but LXD is not usable: ${reason}`);
  console.warn(`skipping LXD tests: ${reason} (run scripts/setup-${backend()}.sh; set RUNNERD_REQUIRE_LXD=1 to make this a failure)`);
  return { skip: true, reason };
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
      // Tests and their helpers are left out of the build (tsconfig.build.json).
      else if (rel.endsWith(".ts") && !rel.endsWith(".test.ts") && !rel.endsWith("/test-support.ts")) {
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
export function startChildDaemon(world: EmulatorWorld): ChildDaemon {
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
