// Which pool a queued job belongs to, by GitHub's own rules: the pool's runners must be able to
// see the job (same repository, or an org pool of the repository's owner) and carry every
// `runs-on` label, compared without case. Pure: no clock, no config reading.
import type { PoolConfig } from "../config/index.js";
import { runnerArchLabel } from "../github/jit-labels.js";

export interface PoolCandidate {
  name: string;
  connection: string;
  scope: { type: "repo"; repo: string } | { type: "org"; org: string };
  /** Configured labels (the defaults are added here unless `defaultLabels` is false). */
  labels: readonly string[];
  defaultLabels: boolean;
  priority: number;
  /** The pool's ceiling minus its current runners. */
  free: number;
}

export interface MatchJob {
  /** `owner/name`. */
  repository: string;
  /** `runs-on` labels as written. */
  labels: readonly string[];
  /** When given, only pools of this connection fit (a webhook speaks for one GitHub). */
  connection?: string;
}

/** The labels a pool's runners register with, lower-cased (the architecture as `x64`, `arm64`, `arm`). */
export function poolLabelSet(pool: Pick<PoolCandidate, "labels" | "defaultLabels">, arch: string = process.arch): Set<string> {
  const labels = new Set(pool.labels.map((l) => l.toLowerCase()));
  if (pool.defaultLabels) for (const l of ["self-hosted", "linux", runnerArchLabel(arch)]) labels.add(l.toLowerCase());
  return labels;
}

export function scopeCoversRepository(scope: PoolCandidate["scope"], repository: string): boolean {
  const repo = repository.toLowerCase();
  if (scope.type === "repo") return scope.repo.toLowerCase() === repo;
  return repo.split("/")[0] === scope.org.toLowerCase();
}

/** Whether `pool` could run `job`, ignoring capacity. A job without labels is not ours (GitHub requires runs-on). */
export function poolFits(job: MatchJob, pool: PoolCandidate, arch: string = process.arch): boolean {
  if (job.labels.length === 0) return false;
  if (job.connection !== undefined && job.connection !== pool.connection) return false;
  if (!scopeCoversRepository(pool.scope, job.repository)) return false;
  const have = poolLabelSet(pool, arch);
  return job.labels.every((l) => have.has(l.toLowerCase()));
}

/** Highest priority first, then the most free capacity, then name order. */
function better(a: PoolCandidate, b: PoolCandidate): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.free !== b.free) return a.free > b.free;
  return a.name < b.name;
}

/** The pool the job should go to, or undefined when none fits. A full pool still fits: the job waits for it. */
export function matchPool(job: MatchJob, pools: readonly PoolCandidate[], arch: string = process.arch): string | undefined {
  let best: PoolCandidate | undefined;
  for (const pool of pools) {
    if (poolFits(job, pool, arch) && (best === undefined || better(pool, best))) best = pool;
  }
  return best?.name;
}

/** A candidate from a configured pool and its current runner count. */
export function poolCandidate(pool: PoolConfig, runners: number): PoolCandidate {
  return {
    name: pool.name,
    connection: pool.connection,
    scope: pool.scope.type === "repo" ? { type: "repo", repo: pool.scope.repo } : { type: "org", org: pool.scope.org },
    labels: pool.labels,
    defaultLabels: pool.default_labels,
    priority: pool.priority,
    free: Math.max(0, pool.runners.ceiling - runners),
  };
}
