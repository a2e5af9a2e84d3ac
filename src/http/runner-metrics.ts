// Metrics of the runner lifecycle, jobs and webhooks: the reconciler reports through the
// ReconcilerObserver methods, the daemon through jobChanged and webhookDelivery; runner counts
// are read at scrape time.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { JobRecord } from "../store/job-types.js";
import type { ReconcilerObserver } from "../pools/ports.js";
import type { PoolReport } from "../pools/report.js";
import type { ObservedRunner } from "../pools/types.js";

export interface RunnerMetricsSource {
  runners(): readonly ObservedRunner[];
  pools(): readonly PoolReport[];
}

const secondsBuckets = [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300];
const phases = ["creating", "starting", "idle", "busy", "finishing", "stopped", "deleting"] as const;

export class RunnerMetrics implements ReconcilerObserver {
  private readonly spawnSeconds: Histogram<"pool" | "result">;
  private readonly replacementSeconds: Histogram<"pool">;
  private readonly queueWaitSeconds: Histogram<"pool">;
  private readonly jobsTotal: Counter<"pool" | "conclusion">;
  private readonly passSeconds: Histogram;
  private readonly errorsTotal: Counter<"source" | "operation">;
  private readonly runnerOutcomes: Counter<"pool" | "outcome">;
  private readonly deliveries: Counter<"outcome">;
  private readonly selfUpdates: Counter<"pool">;
  /** When runners of each pool went away, oldest first, waiting for a successor to listen. */
  private readonly gone = new Map<string, number[]>();

  constructor(registry: Registry, source: RunnerMetricsSource) {
    const registers = [registry];
    new Gauge({
      name: "runnerd_runners",
      help: "Runners by pool and state, as of the last reconcile pass",
      labelNames: ["pool", "state"],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const pool of source.pools()) for (const phase of phases) counts.set(`${pool.name}\n${phase}`, 0);
        for (const r of source.runners()) counts.set(`${r.pool}\n${r.phase}`, (counts.get(`${r.pool}\n${r.phase}`) ?? 0) + 1);
        for (const [key, n] of counts) {
          const [pool = "", state = ""] = key.split("\n");
          this.set({ pool, state }, n);
        }
      },
    });
    new Gauge({
      name: "runnerd_pool_queued_jobs",
      help: "Queued jobs matched to the pool and not picked up yet",
      labelNames: ["pool"],
      registers,
      collect() {
        this.reset();
        for (const pool of source.pools()) this.set({ pool: pool.name }, pool.queued ?? 0);
      },
    });
    new Gauge({
      name: "runnerd_pool_limits",
      help: "The pool's idle floor and ceiling",
      labelNames: ["pool", "limit"],
      registers,
      collect() {
        this.reset();
        for (const pool of source.pools()) {
          this.set({ pool: pool.name, limit: "floor" }, pool.floor);
          this.set({ pool: pool.name, limit: "ceiling" }, pool.ceiling);
        }
      },
    });
    new Gauge({
      name: "runnerd_pool_blocked",
      help: "1 when the pool has fewer runners than it wants, by the reason (token-missing, token-expiring, runner-deprecated, backoff, host-cap, shutting-down)",
      labelNames: ["pool", "reason"],
      registers,
      collect() {
        this.reset();
        for (const pool of source.pools()) if (pool.blocked) this.set({ pool: pool.name, reason: pool.blocked }, 1);
      },
    });
    backoffGauges(registers, source);
    this.spawnSeconds = new Histogram({ name: "runnerd_spawn_duration_seconds", help: "Time to create, prepare and start a runner's instance (JIT config included)", labelNames: ["pool", "result"], buckets: secondsBuckets, registers });
    this.replacementSeconds = new Histogram({ name: "runnerd_replacement_latency_seconds", help: "From a runner going away to the next runner of its pool listening", labelNames: ["pool"], buckets: secondsBuckets, registers });
    this.queueWaitSeconds = new Histogram({ name: "runnerd_job_queue_wait_seconds", help: "From a job being queued to it starting (in_progress), per pool", labelNames: ["pool"], buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800], registers });
    this.jobsTotal = new Counter({ name: "runnerd_jobs_total", help: "Completed jobs by pool and conclusion", labelNames: ["pool", "conclusion"], registers });
    this.passSeconds = new Histogram({ name: "runnerd_reconcile_pass_duration_seconds", help: "Duration of one reconcile pass (observe and plan)", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers });
    this.errorsTotal = new Counter({ name: "runnerd_errors_total", help: "Failures by source (lxd, github, other) and operation", labelNames: ["source", "operation"], registers });
    this.runnerOutcomes = new Counter({ name: "runnerd_runner_outcomes_total", help: "Runners collected or deleted, by outcome", labelNames: ["pool", "outcome"], registers });
    this.deliveries = new Counter({ name: "runnerd_webhook_deliveries_total", help: "Webhook deliveries by outcome", labelNames: ["outcome"], registers });
    this.selfUpdates = new Counter({ name: "runnerd_runner_self_updates_total", help: "Times runners updated actions/runner themselves (their image is behind the newest release)", labelNames: ["pool"], registers });
  }

  passDone(ms: number): void {
    this.passSeconds.observe(ms / 1000);
  }

  spawnDone(pool: string, ms: number, ok: boolean): void {
    this.spawnSeconds.observe({ pool, result: ok ? "ok" : "failed" }, ms / 1000);
  }

  runnerGone(pool: string, at: number): void {
    const queue = this.gone.get(pool) ?? [];
    queue.push(at);
    if (queue.length > 1000) queue.shift();
    this.gone.set(pool, queue);
  }

  runnerListening(pool: string, at: number): void {
    const gone = this.gone.get(pool)?.shift();
    if (gone !== undefined && at >= gone) this.replacementSeconds.observe({ pool }, (at - gone) / 1000);
  }

  collected(pool: string, outcome: string): void {
    this.runnerOutcomes.inc({ pool, outcome });
  }

  selfUpdated(pool: string, count: number): void {
    this.selfUpdates.inc({ pool }, count);
  }

  failure(source: "lxd" | "github" | "other", operation: string): void {
    this.errorsTotal.inc({ source, operation });
  }

  /** A job's record moved from `before` to `after` (a webhook or the recovery listing). */
  jobChanged(before: JobRecord | undefined, after: JobRecord): void {
    const pool = after.pool ?? "none";
    const started = after.status === "in_progress" || after.status === "completed";
    const wasStarted = before?.status === "in_progress" || before?.status === "completed";
    if (started && !wasStarted && after.queuedAt !== null && after.startedAt !== null) {
      this.queueWaitSeconds.observe({ pool }, Math.max(0, after.startedAt - after.queuedAt) / 1000);
    }
    if (after.status === "completed" && before?.status !== "completed") this.jobsTotal.inc({ pool, conclusion: after.conclusion ?? "unknown" });
  }

  webhookDelivery(outcome: string): void {
    this.deliveries.inc({ outcome });
  }
}

/** A pool's backoff, on every scrape while it lasts (a retry under way included, when the plan does not call the pool blocked). */
function backoffGauges(registers: Registry[], source: RunnerMetricsSource): void {
  new Gauge({
    name: "runnerd_pool_backoff_failures",
    help: "Failures in a row of the pool's spawns or new runners; 0 once a runner spawned since the last failure works",
    labelNames: ["pool"],
    registers,
    collect() {
      this.reset();
      for (const pool of source.pools()) this.set({ pool: pool.name }, pool.failures ?? 0);
    },
  });
  new Gauge({
    name: "runnerd_pool_backoff",
    help: "1 while the pool backs off (from its first failure until a runner spawned since works), by the kind of failure (spawn-lxd, spawn-github, spawn-other, runner-<outcome>)",
    labelNames: ["pool", "reason"],
    registers,
    collect() {
      this.reset();
      for (const pool of source.pools()) if (pool.backoffReason) this.set({ pool: pool.name, reason: pool.backoffReason }, 1);
    },
  });
}
