// `runnerd jobs`: the job history from the store (works with or without the daemon running).
import type { Command } from "commander";
import { parseDuration } from "../config/duration.js";
import { UsageError } from "../errors.js";
import type { JobRecord, JobStatus } from "../store/job-types.js";
import { openStore, type ListJobsFilter } from "../store/index.js";
import { loadCliConfig, type GlobalOptions } from "./context.js";
import { humanDuration, printJson, table } from "./output.js";

export interface JobsOptions {
  repo?: string;
  pool?: string;
  status?: string;
  runner?: string;
  since?: string;
  limit?: string;
  json?: boolean;
}

const statuses: readonly string[] = ["queued", "waiting", "in_progress", "completed"] satisfies JobStatus[];

export function registerJobsCommand(program: Command): void {
  program
    .command("jobs")
    .description("recent GitHub jobs: repository, workflow, pool, runner, status, queue wait and duration")
    .option("--repo <owner/name>", "only this repository")
    .option("--pool <name>", "only jobs matched to this pool")
    .option("--status <status>", "queued, waiting, in_progress, completed, or a conclusion (success, failure, cancelled, ...)")
    .option("--runner <name>", "only jobs run by this runner")
    .option("--since <duration>", "only jobs queued within this long, e.g. 30m, 2h, 7d")
    .option("--limit <n>", "at most this many jobs", "50")
    .option("--json", "machine-readable output")
    .action((opts: JobsOptions) => {
      const { config } = loadCliConfig(program.opts<GlobalOptions>());
      const now = Date.now();
      const filter = jobsFilter(opts, now);
      const store = openStore(config.state_dir);
      let jobs: JobRecord[];
      try {
        jobs = store.listJobs(filter);
      } finally {
        store.close();
      }
      if (opts.json) printJson(jobs.map(jobJson));
      else console.log(renderJobs(jobs, now));
    });
}

/** The store filter for the command's options; a UsageError (exit 2) for a bad value. */
export function jobsFilter(opts: JobsOptions, now: number): ListJobsFilter {
  const filter: ListJobsFilter = {};
  if (opts.repo !== undefined) filter.repository = opts.repo;
  if (opts.pool !== undefined) filter.pool = opts.pool;
  if (opts.runner !== undefined) filter.runner = opts.runner;
  if (opts.status !== undefined) {
    // One flag for both: nobody names a conclusion after a status.
    if (statuses.includes(opts.status)) filter.status = opts.status as JobStatus;
    else if (/^[a-z_]+$/.test(opts.status)) filter.conclusion = opts.status;
    else throw new UsageError(`jobs: --status must be ${statuses.join(", ")} or a conclusion such as success or failure, not "${opts.status}"`);
  }
  if (opts.since !== undefined) {
    const ms = parseDuration(opts.since);
    if (ms === undefined) throw new UsageError(`jobs: --since must be a duration such as 30m, 2h or 7d, not "${opts.since}"`);
    filter.since = now - ms;
  }
  const limit = Number(opts.limit ?? "50");
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`jobs: --limit must be a whole number of at least 1, not "${opts.limit}"`);
  filter.limit = limit;
  return filter;
}

export function renderJobs(jobs: JobRecord[], now: number): string {
  if (jobs.length === 0) return "no jobs recorded (jobs are recorded from workflow_job webhooks)";
  const rows = jobs.map((j) => [
    String(j.jobId),
    j.repository,
    `${j.workflowName ?? "?"} / ${j.jobName}`,
    j.pool ?? "-",
    j.runnerName ?? "-",
    j.status === "completed" ? (j.conclusion ?? "completed") : j.status,
    j.queuedAt === null ? "-" : `${humanDuration(now - j.queuedAt)} ago`,
    span(j.queuedAt, j.startedAt),
    span(j.startedAt, j.completedAt),
  ]);
  return table(["JOB", "REPOSITORY", "WORKFLOW / JOB", "POOL", "RUNNER", "STATUS", "QUEUED", "WAIT", "DURATION"], rows);
}

function span(from: number | null, to: number | null): string {
  return from === null || to === null ? "-" : humanDuration(Math.max(0, to - from));
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const between = (from: number | null, to: number | null) => (from === null || to === null ? null : Math.max(0, to - from));

/** Snake case and ISO times, as the other --json outputs. */
export function jobJson(j: JobRecord): Record<string, unknown> {
  return {
    job_id: j.jobId,
    run_id: j.runId,
    connection: j.connection,
    repository: j.repository,
    workflow: j.workflowName,
    job: j.jobName,
    labels: j.labels,
    status: j.status,
    conclusion: j.conclusion,
    pool: j.pool,
    runner: j.runnerName,
    queued_at: iso(j.queuedAt),
    started_at: iso(j.startedAt),
    completed_at: iso(j.completedAt),
    updated_at: iso(j.updatedAt),
    wait_ms: between(j.queuedAt, j.startedAt),
    duration_ms: between(j.startedAt, j.completedAt),
  };
}
