// What the reconciler publishes after each pass (status.json, the status page, metrics), and the
// pool blockers it logs once per change rather than on every pass.
import type { Logger } from "pino";
import type { PoolFailure } from "./backoff.js";
import type { Deprecation } from "./deprecation.js";
import type { HistoryPort } from "./ports.js";
import type { MemberStatus, ObservedRunner, PoolBlocker, PoolStatus } from "./types.js";

export interface PoolReport extends PoolStatus {
  /** The pool's most recent failure, kept until a runner of the pool listens again (see backoff.ts). */
  lastError?: { message: string; at: number };
  /** While the pool backs off: when it may spawn again (ms since the epoch). */
  retryAt?: number;
  /** Failures in a row since the pool last worked. */
  failures?: number;
  /**
   * While the pool's backoff lasts (from its first failure until a runner spawned since works):
   * what kind of failure, `spawn-lxd`, `spawn-github`, `spawn-other` or `runner-<outcome>`, and
   * since when it fails. Present on every report meanwhile, also while a retry is under way.
   */
  backoffReason?: string;
  failingSince?: number;
  /** While GitHub refuses the runner version of the pool's image: what happened and what to do. */
  deprecated?: { message: string; at: number; version?: string };
}

export interface ReconcilerStatus {
  at: number;
  pools: PoolReport[];
  runners: ObservedRunner[];
  /** On a cluster: each member's state and what it holds. */
  members?: MemberStatus[];
  lastPassError?: string;
}

export interface PoolFacts {
  failure(pool: string): PoolFailure | undefined;
  deprecation?(pool: string): Deprecation | undefined;
}

/** Each pool's status from the plan, with its failures while it has any, and its image's deprecation. */
export function poolReports(pools: readonly PoolStatus[], facts: PoolFacts, now: number): PoolReport[] {
  return pools.map((p) => {
    const f = facts.failure(p.name);
    const d = facts.deprecation?.(p.name);
    if (!f && !d) return p;
    const report: PoolReport = { ...p };
    if (f) {
      report.lastError = { message: f.message, at: f.at };
      report.failures = f.count;
      report.backoffReason = f.reason;
      report.failingSince = f.since;
      if (f.until > now) report.retryAt = f.until;
    }
    if (d) report.deprecated = { message: d.message, at: d.at, ...(d.version ? { version: d.version } : {}) };
    return report;
  });
}

/** Logs a pool's blocker, and records the token ones as events, once per change. */
export class BlockerLog {
  private readonly last = new Map<string, PoolBlocker | undefined>();

  constructor(private readonly history: HistoryPort) {}

  report(pools: readonly PoolStatus[], log: Logger): void {
    for (const pool of pools) {
      const before = this.last.get(pool.name);
      if (before === pool.blocked) continue;
      this.last.set(pool.name, pool.blocked);
      if (pool.blocked === "token-missing" || pool.blocked === "token-expiring") {
        const message = pool.blocked === "token-missing" ? `no registration token for ${pool.scope}: push one with 'runnerd token set ${pool.scope}'` : `the registration token for ${pool.scope} expires too soon to start runners`;
        log.warn({ pool: pool.name, scope: pool.scope }, `pool waiting for token: ${message}`);
        this.history.addEvent({ level: "warn", kind: "waiting-for-token", pool: pool.name, message });
      } else if (before === "token-missing" || before === "token-expiring") {
        log.info({ pool: pool.name }, "pool has a fresh token; spawning resumed");
        this.history.addEvent({ level: "info", kind: "token-fresh", pool: pool.name, message: "fresh token: spawning resumed" });
      } else if (pool.blocked === "runner-deprecated") {
        log.warn({ pool: pool.name }, "pool blocked: GitHub refuses the runner version of its image");
      } else if (pool.blocked === "host-cap") {
        log.info({ pool: pool.name }, "pool held back by the host-wide runner cap");
      } else if (pool.blocked === "member-cap" || pool.blocked === "no-member") {
        const message = pool.blocked === "member-cap" ? "every eligible cluster member holds max_runners_per_member runners" : "no online cluster member in the pool's placement target";
        log.warn({ pool: pool.name }, `pool held back: ${message}`);
        this.history.addEvent({ level: "warn", kind: "placement-blocked", pool: pool.name, message });
      }
    }
  }
}
