// Test harness for everything that needs a real LXD: finds (or refuses without) the daemon,
// builds the busybox runner image, starts the GitHub emulator, writes runnerd configs whose
// instances reach the emulator through a loopback `proxy` device, and cleans up after itself.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { scopeKey } from "../../src/config/index.js";
import { openStore } from "../../src/store/index.js";
import { createLxdClient, detectLxdSocket, type LxdClient } from "../../src/lxd/index.js";
import { keys } from "../../src/pools/ownership.js";
import { startGitHubEmulator, type GitHubEmulator } from "./github-emulator/index.js";

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, "../..");
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
  idle: number;
  max?: number;
  labels?: string[];
  image?: string;
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
  cleanup(): Promise<void>;
}

export async function createTestWorld(options: { longPollMs?: number; assignTimeoutMs?: number } = {}): Promise<TestWorld> {
  const emulator = await startGitHubEmulator({ longPollMs: options.longPollMs ?? 5000, assignTimeoutMs: options.assignTimeoutMs ?? 20_000 });
  const lxd = createLxdClient({ socketPath: detectLxdSocket() });
  const controllerId = `test-${randomBytes(3).toString("hex")}`;
  const stateDir = mkdtempSync(join(tmpdir(), "runnerd-test-"));
  const configPath = join(stateDir, "config.yaml");

  let cleaned = false;
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
        github: { emu: { url: emulator.url, auth: { type: "push" } } },
        ...extra,
        pools: pools.map((p) => ({
          name: p.name,
          scope: p.org ? { org: p.org } : { repo: p.repo ?? `acme/${p.name}` },
          labels: p.labels ?? [],
          runners: { idle: p.idle, ...(p.max !== undefined ? { max: p.max } : {}) },
          image: p.image ?? testImage,
          name_prefix: "rt",
          instance: {
            // No NIC: the runner reaches the emulator on the host's loopback through LXD.
            devices: {
              github: { type: "proxy", bind: "instance", listen: `tcp:127.0.0.1:${emulator.port}`, connect: `tcp:127.0.0.1:${emulator.port}` },
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
      const list = await lxd.listInstances({ configKey: keys.controller, value: controllerId }).catch(() => []);
      await Promise.all(
        list.map(async (i) => {
          await lxd.stopInstance(i.name, { force: true, timeoutSeconds: 10 }).catch(() => undefined);
          await lxd.deleteInstance(i.name).catch(() => undefined);
        }),
      );
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await world.removeInstances();
      await emulator.close();
      await lxd.close();
      if (process.env.RUNNERD_TEST_KEEP === "1") console.warn(`kept state dir ${stateDir}`);
      else rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return world;
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
