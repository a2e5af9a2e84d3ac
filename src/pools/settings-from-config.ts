// Turns the loaded configuration into what the reconciler needs: scope keys, registration URLs,
// and the LXD config and devices of each pool's instances.
import { join } from "node:path";
import { poolScopeKey, type Config, type PoolConfig } from "../config/index.js";
import type { PoolRuntime, ReconcilerSettings } from "./settings.js";
import { DOCKER_READY_CONFIG } from "../images/docker-ready.js";
import { imageAlias } from "../images/source.js";

/** How often a starting runner's status file is read until it listens. */
const startingPollMs = 500;

export function reconcilerSettings(config: Config): ReconcilerSettings {
  return {
    controllerId: config.controller_id,
    logsDir: join(config.state_dir, "logs"),
    resyncIntervalMs: config.resync_interval,
    spawnConcurrency: config.spawn_concurrency,
    plan: {
      maxRunners: config.max_runners,
      bootTimeoutMs: config.boot_timeout,
      jobTimeoutMs: config.job_timeout,
      tokenMinValidityMs: config.token_min_validity,
      startingPollMs,
      finishingTimeoutMs: 60_000,
    },
    pools: config.pools.map((pool) => poolRuntime(config, pool)),
  };
}

function poolRuntime(config: Config, pool: PoolConfig): PoolRuntime {
  const connection = config.github[pool.connection];
  if (!connection) throw new Error(`pool ${pool.name}: connection ${pool.connection} is not configured`);
  const registrationUrl = pool.scope.type === "repo" ? `${connection.url}/${pool.scope.repo}` : `${connection.url}/${pool.scope.org}`;
  const instanceConfig: Record<string, string> = pool.instance.docker ? { ...DOCKER_READY_CONFIG } : {};
  if (pool.instance.idmap_isolated) instanceConfig["security.idmap.isolated"] = "true";
  if (pool.instance.cpu !== undefined) instanceConfig["limits.cpu"] = pool.instance.cpu;
  if (pool.instance.memory !== undefined) instanceConfig["limits.memory"] = pool.instance.memory;
  Object.assign(instanceConfig, pool.instance.config);

  const root: Record<string, string> = { type: "disk", path: "/", pool: config.lxd.storage_pool };
  if (pool.instance.disk !== undefined) root.size = pool.instance.disk;
  const devices: Record<string, Record<string, string>> = { root };
  for (const [name, device] of Object.entries(pool.instance.devices)) {
    devices[name] = name === "root" ? { ...root, ...device } : { ...device };
  }

  const credential = connection.auth.type === "push" ? "push" : "jit";
  const runtime: PoolRuntime = {
    spec: { name: pool.name, scope: poolScopeKey(pool), floor: pool.runners.floor, ceiling: pool.runners.ceiling, credential, idleTimeoutMs: pool.runners.idle_timeout },
    connection: pool.connection,
    scopeRef: pool.scope.type === "repo" ? { type: "repo", repo: pool.scope.repo } : { type: "org", org: pool.scope.org },
    credential,
    registrationUrl,
    labels: [...pool.labels],
    defaultLabels: pool.default_labels,
    image: pool.image,
    namePrefix: pool.name_prefix,
    profiles: [...pool.instance.profiles],
    instanceConfig,
    devices,
  };
  if (pool.scope.type === "org") runtime.runnerGroup = pool.scope.runner_group;
  const built = builtImageOf(config, pool.image);
  if (built) runtime.builtImage = built;
  return runtime;
}

/** The `images:` entry whose alias (`runnerd/<name>`) the pool's image is, if any. */
function builtImageOf(config: Config, image: string): PoolRuntime["builtImage"] {
  const entry = Object.values(config.images).find((i) => imageAlias(i.name) === image);
  return entry ? { name: entry.name, autoRebuild: entry.auto_rebuild } : undefined;
}
