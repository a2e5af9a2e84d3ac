// Per-pool backoff: a pool whose spawns fail, or whose runners die before they ever listen (a
// revoked token, a full disk, a broken image), waits before it spawns again instead of
// recreating runners in a hot loop. Exponential with equal jitter, capped; the clock and the
// random source are injected so tests are deterministic.
import type { ObservedRunner } from "./types.js";

export interface BackoffPolicy {
  /** Longest wait after the first failure. */
  baseMs: number;
  /** Longest wait after any number of failures. */
  capMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 1000, capMs: 60_000 };

export interface BackoffClock {
  now(): number;
  /** Uniform in [0, 1), like Math.random. */
  random(): number;
}

/** A pool's failures since it last worked. */
export interface PoolFailure {
  /** Failures in a row (terminal ones count as reaching the cap at once). */
  count: number;
  /** When the most recent failure happened (ms since the epoch). */
  at: number;
  /** No spawn for the pool before this time. */
  until: number;
  message: string;
  terminal: boolean;
}

/** The exponential's bound for the `count`th failure in a row: base, 2 × base, … up to the cap. */
export function backoffBound(count: number, policy: BackoffPolicy = defaultBackoff): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, count - 1));
}

/**
 * Equal jitter: half the bound is fixed, half random, so pools that failed together spread
 * out but none retries sooner than half its bound.
 */
export function backoffDelay(count: number, random: number, policy: BackoffPolicy = defaultBackoff): number {
  const bound = backoffBound(count, policy);
  return Math.round(bound / 2 + Math.min(Math.max(random, 0), 1) * (bound / 2));
}

/** The smallest failure count whose bound is the cap: where a terminal failure starts. */
export function countAtCap(policy: BackoffPolicy = defaultBackoff): number {
  let count = 1;
  while (backoffBound(count, policy) < policy.capMs) count++;
  return count;
}

/**
 * Whether the runners a pass sees show that `pool` works again since its failure at `failureAt`:
 * a runner of the pool made after the failure got as far as listening (it is idle or busy now),
 * or one made before it was seen idle with a listening time after it. An older runner that was
 * listening already, or that merely took a job, proves nothing about new spawns.
 */
export function recoveredSince(pool: string, failureAt: number, runners: readonly ObservedRunner[]): boolean {
  return runners.some(
    (r) =>
      r.pool === pool &&
      (((r.phase === "idle" || r.phase === "busy") && r.createdAt > failureAt) || (r.phase === "idle" && r.phaseSince !== undefined && r.phaseSince > failureAt)),
  );
}

export class PoolBackoff {
  private readonly failures = new Map<string, PoolFailure>();

  constructor(
    private readonly clock: BackoffClock,
    private readonly policy: BackoffPolicy = defaultBackoff,
  ) {}

  /** Records a failure of `pool` and returns its new state (retry after `until`). */
  fail(pool: string, message: string, terminal: boolean): PoolFailure & { delay: number } {
    const at = this.clock.now();
    const next = (this.failures.get(pool)?.count ?? 0) + 1;
    const count = terminal ? Math.max(next, countAtCap(this.policy)) : next;
    const delay = backoffDelay(count, this.clock.random(), this.policy);
    const failure: PoolFailure = { count, at, until: at + delay, message, terminal };
    this.failures.set(pool, failure);
    return { ...failure, delay };
  }

  /** Ends the backoff of every pool the observed runners show working again; returns those pools. */
  settle(runners: readonly ObservedRunner[]): string[] {
    const recovered: string[] = [];
    for (const [pool, failure] of this.failures) {
      if (recoveredSince(pool, failure.at, runners)) recovered.push(pool);
    }
    for (const pool of recovered) this.failures.delete(pool);
    return recovered;
  }

  get(pool: string): PoolFailure | undefined {
    return this.failures.get(pool);
  }

  /** Pool name -> no spawn before this time. */
  untilByPool(): Map<string, number> {
    return new Map([...this.failures].map(([pool, f]) => [pool, f.until]));
  }
}
