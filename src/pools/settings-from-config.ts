// Turns the loaded configuration into what the reconciler needs: scope keys, registration URLs,
// and the LXD config and devices of each pool's instances, with their limits.
import { join } from "node:path";
import { poolScopeKey, type Config, type PoolConfig } from "../config/index.js";
import { finishingDeadlineMs, type PoolRuntime, type ReconcilerSettings } from "./settings.js";
import type { HostResources } from "../lxd/index.js";
import { concurrentRunners, defaultLimits, limitsConfig, poolLimits, type RunnerLimits } from "./runner-limits.js";
import { DOCKER_READY_CONFIG } from "../images/docker-ready.js";
import { imageAlias } from "../images/source.js";

/** How often a starting runner's status file is read until it listens. */
const startingPollMs = 500;

/**
 * `host`: the host's size as LXD reports it, which the runners' default limits are derived from
 * (runner-limits.ts); null when unknown (commands that only read), which gives LXD-relative values.
 */
export function reconcilerSettings(config: Config, host: HostResources | null = null): ReconcilerSettings {
  const defaults = defaultLimits(host, concurrentRunners(config.max_runners, config.pools.map((p) => p.runners.ceiling)));
  return {
    controllerId: config.controller_id,
    logsDir: join(config.state_dir, "logs"),
    maxRunnerLogBytes: config.logs_retention.max_runner_mib * 1024 * 1024,
    resyncIntervalMs: config.resync_interval,
    spawnConcurrency: config.spawn_concurrency,
    collectConcurrency: config.collect_concurrency,
    plan: {
      maxRunners: config.max_runners,
      bootTimeoutMs: config.boot_timeout,
      jobTimeoutMs: config.job_timeout,
      tokenMinValidityMs: config.token_min_validity,
      startingPollMs,
      finishingTimeoutMs: finishingDeadlineMs,
      memberOfflineTimeoutMs: config.cluster.member_offline_timeout,
      ...(config.cluster.max_runners_per_member !== undefined ? { maxRunnersPerMember: config.cluster.max_runners_per_member } : {}),
    },
    pools: config.pools.map((pool) => poolRuntime(config, pool, defaults)),
  };
}

function poolRuntime(config: Config, pool: PoolConfig, defaults: RunnerLimits): PoolRuntime {
  const connection = config.github[pool.connection];
  if (!connection) throw new Error(`pool ${pool.name}: connection ${pool.connection} is not configured`);
  const registrationUrl = pool.scope.type === "repo" ? `${connection.url}/${pool.scope.repo}` : `${connection.url}/${pool.scope.org}`;
  const instanceConfig: Record<string, string> = pool.instance.docker ? { ...DOCKER_READY_CONFIG } : {};
  if (pool.instance.idmap_isolated) instanceConfig["security.idmap.isolated"] = "true";
  const limits = poolLimits(pool.instance, defaults);
  Object.assign(instanceConfig, limitsConfig(limits), pool.instance.config);

  const root: Record<string, string> = { type: "disk", path: "/", pool: config.lxd.storage_pool, size: limits.disk };
  const devices: Record<string, Record<string, string>> = { root };
  for (const [name, device] of Object.entries(pool.instance.devices)) {
    devices[name] = name === "root" ? { ...root, ...device } : { ...device };
  }

  const credential = connection.auth.type === "push" ? "push" : "jit";
  const runtime: PoolRuntime = {
    spec: {
      name: pool.name,
      scope: poolScopeKey(pool),
      floor: pool.runners.floor,
      ceiling: pool.runners.ceiling,
      credential,
      idleTimeoutMs: pool.runners.idle_timeout,
      placement: { spread: pool.placement.spread, ...(pool.placement.target !== undefined ? { target: pool.placement.target } : {}) },
    },
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
