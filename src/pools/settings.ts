// The reconciler's view of the configuration: what it needs per pool, already resolved.
import type { ScopeRef } from "../config/index.js";
import type { PlanSettings, PoolSpec } from "./types.js";

/**
 * How long a runner whose agent wrote "finished" may keep running before runnerd force-stops and
 * collects it (`finishing-timeout`). The agent powers off right after writing it, and LXD reports
 * the stop within a second or two; a minute leaves room for a loaded host, and bounds what a job
 * that writes "finished" and stays up can hold (it counts toward every cap meanwhile).
 */
export const finishingDeadlineMs = 60_000;

export interface PoolRuntime {
  spec: PoolSpec;
  /** Name of the GitHub connection the pool's runners register with. */
  connection: string;
  scopeRef: ScopeRef;
  /** `jit`: app/pat connections mint a JIT config per runner; `push`: runners use the pushed token. */
  credential: "push" | "jit";
  /** Where runners register: `<github url>/<owner>/<repo>` or `<github url>/<org>`. */
  registrationUrl: string;
  labels: string[];
  /** JIT runners: register with `self-hosted`, `Linux` and the architecture too. */
  defaultLabels: boolean;
  runnerGroup?: string;
  /** LXD image alias or fingerprint. */
  image: string;
  /** Set when `image` is the `runnerd/<name>` alias of an `images:` entry: runnerd builds it. */
  builtImage?: { name: string; autoRebuild: boolean };
  namePrefix: string;
  profiles: string[];
  instanceConfig: Record<string, string>;
  devices: Record<string, Record<string, string>>;
}

export interface ReconcilerSettings {
  controllerId: string;
  logsDir: string;
  /** A runner's log bundle is cut at this size when collected (`logs_retention.max_runner_mib`). */
  maxRunnerLogBytes: number;
  plan: PlanSettings;
  resyncIntervalMs: number;
  /** Spawns at once (`spawn_concurrency`). */
  spawnConcurrency: number;
  /** Collects and deletes at once (`collect_concurrency`), a bound of their own so they never wait behind spawns. */
  collectConcurrency: number;
  pools: PoolRuntime[];
}
