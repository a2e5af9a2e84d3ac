// The reconciler's view of the configuration: what it needs per pool, already resolved.
import type { ScopeRef } from "../config/index.js";
import type { PlanSettings, PoolSpec } from "./types.js";

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
  plan: PlanSettings;
  resyncIntervalMs: number;
  spawnConcurrency: number;
  pools: PoolRuntime[];
}
