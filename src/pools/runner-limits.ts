// What one runner may use of the host: CPUs, memory, processes and root disk. A job is hostile by
// assumption (docs/threat-model.md), so every runner gets limits unless its pool sets its own:
// one fork bomb, memory hog or disk filler must not starve the runners next to it, runnerd, or
// the host. Pure: the daemon reads the host's size from LXD (`GET /1.0/resources`) and hands it in.
import type { HostResources } from "../lxd/index.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * The defaults and why:
 * - cpu: every CPU of the host. A build is faster with all of them, and the kernel's fair
 *   scheduler shares them between runners at equal weight, so a spinning job gets no more than
 *   its share while others want CPU time.
 * - memory: `memoryShare` of the host's memory split evenly between the runners that can run at
 *   once, so all of them together leave the rest to the host (LXD, runnerd, the page cache of the
 *   storage pool); never less than `memoryFloorBytes` (a runner with less fails ordinary builds),
 *   unless the host itself is that small. Swap is off for runners (`limits.memory.swap`), so a job
 *   that goes over its limit is OOM-killed inside its container instead of filling the host's swap.
 * - processes: enough for parallel builds and Docker; a fork bomb stops there, long before the
 *   host's pid space (32768 on hosts with the old `kernel.pid_max`) runs out for everyone else.
 * - disk: the root disk's quota, so a job cannot fill the storage pool the other runners share.
 */
export const LIMIT_DEFAULTS = {
  memoryShare: 0.8,
  memoryFloorBytes: 2 * GiB,
  processes: 10_000,
  disk: "20GiB",
} as const;

/** LXD values, one per concept, as the pool config names them (`instance.cpu`, `.memory`, `.processes`, `.disk`). */
export interface RunnerLimits {
  /** `limits.cpu`; unset when the host's CPU count is unknown (the runner then sees every CPU anyway). */
  cpu?: string;
  /** `limits.memory`: an LXD size, or a percentage of the host's memory. */
  memory: string;
  /** `limits.processes`. */
  processes: string;
  /** The root disk device's `size`. */
  disk: string;
}

/** What a pool's `instance:` section may set; each given value replaces the derived default. */
export interface PoolLimitOverrides {
  cpu?: string | undefined;
  memory?: string | undefined;
  processes?: number | undefined;
  disk?: string | undefined;
}

/** Runners that can exist at once on the host: `max_runners`, or fewer when the pools' ceilings add up to less. */
export function concurrentRunners(maxRunners: number, ceilings: readonly number[]): number {
  const total = ceilings.reduce((sum, c) => sum + c, 0);
  return Math.max(1, Math.min(maxRunners, total));
}

/**
 * The limits of a runner of a pool that sets none. `host` null (LXD did not say): memory as a
 * percentage of the host's memory, which LXD resolves itself (no floor then), and no CPU limit.
 */
export function defaultLimits(host: HostResources | null, concurrent: number): RunnerLimits {
  const runners = Math.max(1, concurrent);
  const common = { processes: String(LIMIT_DEFAULTS.processes), disk: LIMIT_DEFAULTS.disk };
  if (host === null || !(host.memoryBytes > 0) || !(host.cpus >= 1)) {
    return { memory: `${Math.max(1, Math.floor((LIMIT_DEFAULTS.memoryShare * 100) / runners))}%`, ...common };
  }
  const usable = host.memoryBytes * LIMIT_DEFAULTS.memoryShare;
  const floor = Math.min(LIMIT_DEFAULTS.memoryFloorBytes, usable);
  const bytes = Math.max(floor, usable / runners);
  return { cpu: String(Math.floor(host.cpus)), memory: `${Math.max(1, Math.floor(bytes / MiB))}MiB`, ...common };
}

/** A pool's limits: its own values where it gives them, the defaults elsewhere. */
export function poolLimits(overrides: PoolLimitOverrides, defaults: RunnerLimits): RunnerLimits {
  const limits: RunnerLimits = {
    memory: overrides.memory ?? defaults.memory,
    processes: overrides.processes !== undefined ? String(overrides.processes) : defaults.processes,
    disk: overrides.disk ?? defaults.disk,
  };
  const cpu = overrides.cpu ?? defaults.cpu;
  if (cpu !== undefined) limits.cpu = cpu;
  return limits;
}

/** The instance config keys of `limits` (the disk goes on the root device). The operator's `instance.config` is applied after these. */
export function limitsConfig(limits: RunnerLimits): Record<string, string> {
  return {
    ...(limits.cpu !== undefined ? { "limits.cpu": limits.cpu } : {}),
    "limits.memory": limits.memory,
    "limits.memory.swap": "false",
    "limits.processes": limits.processes,
  };
}

const sizeUnits: Record<string, number> = { "": 1, B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, PB: 1e15, EB: 1e18, KiB: 1024, MiB: MiB, GiB: GiB, TiB: 1024 * GiB, PiB: 1024 ** 5, EiB: 1024 ** 6 };

/** Bytes of an LXD size string ("20GiB", "512MB", "1000"); null when it is not one. */
export function sizeBytes(size: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/.exec(size.trim());
  const unit = m ? sizeUnits[m[2] ?? ""] : undefined;
  return m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : null;
}

/**
 * What the runners' root disks may hold together at worst: the `maxRunners` largest of every
 * pool's disk repeated `ceiling` times. Above the storage pool's size, jobs filling their disks
 * fill the pool (doctor warns). Sizes that do not parse count as 0.
 */
export function worstCaseDiskBytes(pools: readonly { ceiling: number; disk: string | undefined }[], maxRunners: number): number {
  const each = pools.flatMap((p) => Array.from({ length: p.ceiling }, () => (p.disk === undefined ? 0 : (sizeBytes(p.disk) ?? 0))));
  return each.sort((a, b) => b - a).slice(0, maxRunners).reduce((sum, b) => sum + b, 0);
}
