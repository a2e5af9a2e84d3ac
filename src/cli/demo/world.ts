// A runnerd set-up with no GitHub account, for `runnerd demo` and (through the test harness)
// the tests and benches: the GitHub emulator, a state dir, configs whose instances reach the
// emulator through a loopback `proxy` device, tokens pushed to the store, and a clean-up.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { scopeKey } from "../../config/index.js";
import { startGitHubEmulator, type GitHubEmulator } from "../../emulator/index.js";
import { createLxdClient, type LxdClient } from "../../lxd/index.js";
import { deleteInstance } from "../../pools/collect.js";
import { keys } from "../../pools/ownership.js";
import { openStore } from "../../store/index.js";
import { backendSocket, busyboxImage, storagePool } from "./lxd-host.js";

export interface PoolInput {
  name: string;
  repo?: string;
  org?: string;
  runnerGroup?: string;
  floor: number;
  ceiling?: number;
  /** `runners.idle_timeout`, e.g. "1s"; default the config's (5m). */
  idleTimeout?: string;
  /** `default_labels`; default true. */
  defaultLabels?: boolean;
  labels?: string[];
  image?: string;
  /** Extra LXD devices for the pool's instances, next to the emulator's proxy device. */
  devices?: Record<string, Record<string, string>>;
  /** Other keys of the pool's `instance:` section, e.g. `{ memory: "128MiB" }`. */
  instance?: Record<string, unknown>;
  /** The pool's `placement:` on a cluster, e.g. `{ spread: true }`. */
  placement?: Record<string, unknown>;
}

export interface EmulatorWorld {
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
  /** Force-deletes every instance of this world's controller. */
  removeInstances(): Promise<void>;
  /** Images `runnerd image build NAME` makes for this world, removed at cleanup. */
  trackImage(name: string): void;
  cleanup(): Promise<void>;
}

export async function createEmulatorWorld(options: { longPollMs?: number; assignTimeoutMs?: number } = {}): Promise<EmulatorWorld> {
  const emulator = await startGitHubEmulator({ longPollMs: options.longPollMs ?? 5000, assignTimeoutMs: options.assignTimeoutMs ?? 20_000 });
  const socket = backendSocket();
  const lxd = createLxdClient({ socketPath: socket });
  const controllerId = `test-${randomBytes(3).toString("hex")}`;
  const stateDir = mkdtempSync(join(tmpdir(), "runnerd-test-"));
  const configPath = join(stateDir, "config.yaml");

  let cleaned = false;
  const trackedImages = new Set<string>();
  const world: EmulatorWorld = {
    emulator,
    lxd,
    controllerId,
    stateDir,
    configPath,
    writeConfig(pools, extra = {}) {
      const config = runnerdConfig({ controllerId, stateDir, socket, emulatorUrl: emulator.url, emulatorPort: emulator.port }, pools, extra);
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
      return (await lxd.storagePoolResources(storagePool)).space.used;
    },
    async removeInstances() {
      // A runner may be powering itself off right now: deleteInstance waits that out.
      const list = await lxd.listInstances({ configKey: keys.controller, value: controllerId }).catch(() => []);
      await Promise.all(list.map((i) => deleteInstance(lxd, i.name).catch((err: unknown) => process.stderr.write(`could not remove ${i.name}: ${(err as Error).message}\n`))));
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
      if (process.env.RUNNERD_TEST_KEEP === "1") process.stderr.write(`kept state dir ${stateDir}\n`);
      else rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return world;
}

interface WorldIds {
  controllerId: string;
  stateDir: string;
  /** The backend's socket (RUNNERD_BACKEND), so runnerd talks to the daemon the test chose. */
  socket: string;
  emulatorUrl: string;
  emulatorPort: number;
}

function runnerdConfig(ids: WorldIds, pools: PoolInput[], extra: Record<string, unknown>): Record<string, unknown> {
  const { emulatorPort: port } = ids;
  return {
    controller_id: ids.controllerId,
    state_dir: ids.stateDir,
    resync_interval: "2s",
    boot_timeout: "60s",
    log_level: process.env.RUNNERD_TEST_LOG_LEVEL ?? "warn",
    lxd: { storage_pool: storagePool, socket: ids.socket },
    // Any free port: several daemons (tests, benches) may run on one machine.
    http: { listen: "127.0.0.1:0" },
    github: { emu: { url: ids.emulatorUrl, auth: { type: "push" } } },
    ...extra,
    pools: pools.map((p) => ({
      name: p.name,
      scope: p.org ? { org: p.org, ...(p.runnerGroup ? { runner_group: p.runnerGroup } : {}) } : { repo: p.repo ?? `acme/${p.name}` },
      labels: p.labels ?? [],
      ...(p.defaultLabels === false ? { default_labels: false } : {}),
      runners: { floor: p.floor, ...(p.ceiling !== undefined ? { ceiling: p.ceiling } : {}), ...(p.idleTimeout !== undefined ? { idle_timeout: p.idleTimeout } : {}) },
      image: p.image ?? busyboxImage,
      ...(p.placement ? { placement: p.placement } : {}),
      name_prefix: "rt",
      instance: {
        ...p.instance,
        // No NIC: the runner reaches the emulator on the host's loopback through LXD.
        devices: {
          github: { type: "proxy", bind: "instance", listen: `tcp:127.0.0.1:${port}`, connect: `tcp:127.0.0.1:${port}` },
          ...p.devices,
        },
      },
    })),
  };
}
