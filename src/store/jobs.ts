// Job history: one row per GitHub job id, merged from its workflow_job deliveries. GitHub
// delivers at least once and in no guaranteed order, so a merge only ever moves a job forward
// and only fills gaps: a late `queued` never undoes `in_progress`, and no time becomes null.
import type { Database } from "better-sqlite3";
import type { JobEvent, JobRecord, JobStatus } from "./job-types.js";

export interface ListJobsFilter {
  /** `owner/name`, compared without case as GitHub does. */
  repository?: string;
  pool?: string;
  status?: JobStatus;
  conclusion?: string;
  runner?: string;
  /** Only jobs queued (or, without a queue time, first seen) at or after this time, ms. */
  since?: number;
  limit?: number;
}

export interface QueueWaitFilter {
  repository?: string;
  pool?: string;
  /** Only jobs queued at or after this time, ms. */
  since?: number;
}

export interface JobTable {
  /** Merges one delivery into the job's row; `pool` is recorded only if none is yet. */
  recordJobEvent(event: JobEvent, pool: string | null): { changed: boolean; record: JobRecord };
  getJob(jobId: number): JobRecord | null;
  /** Newest first (by queue time). */
  listJobs(filter?: ListJobsFilter): JobRecord[];
  /**
   * Jobs per pool still queued, queued within maxAgeMs of now: a job whose later deliveries were
   * lost stops counting instead of holding a runner forever. A job waiting for an environment's
   * approval is not demand: no runner can take it until it is approved and queued.
   */
  queuedDemand(now: number, maxAgeMs: number): Map<string, number>;
  /** started - queued, in ms, of jobs that started, ascending (ready for percentiles). */
  queueWaits(filter?: QueueWaitFilter): number[];
  /** Deletes jobs not updated for olderThanMs (store clock); returns how many. */
  pruneJobs(olderThanMs: number): number;
}

interface JobRow {
  job_id: number;
  run_id: number;
  connection: string;
  repository: string;
  workflow_name: string | null;
  job_name: string;
  labels: string;
  status: JobStatus;
  conclusion: string | null;
  pool: string | null;
  runner_name: string | null;
  queued_at: number | null;
  started_at: number | null;
  completed_at: number | null;
  updated_at: number;
}

// queued and waiting share a rank: GitHub may go either way between them before a job starts.
const rank: Record<JobStatus, number> = { queued: 0, waiting: 0, in_progress: 1, completed: 2 };

function parseLabels(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.map(String) : [];
  } catch {
    return [];
  }
}

function toRecord(row: JobRow): JobRecord {
  return {
    jobId: row.job_id,
    runId: row.run_id,
    connection: row.connection,
    repository: row.repository,
    workflowName: row.workflow_name,
    jobName: row.job_name,
    labels: parseLabels(row.labels),
    status: row.status,
    conclusion: row.conclusion,
    pool: row.pool,
    runnerName: row.runner_name,
    queuedAt: row.queued_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    updatedAt: row.updated_at,
  };
}

/** The row one delivery alone describes. */
function rowOf(event: JobEvent, pool: string | null): JobRow {
  const started = event.action === "in_progress" || event.action === "completed";
  return {
    job_id: event.jobId,
    run_id: event.runId,
    connection: event.connection,
    repository: event.repository,
    workflow_name: event.workflowName,
    job_name: event.jobName,
    labels: JSON.stringify(event.labels),
    status: event.action,
    // GitHub fills started_at even on `queued` deliveries; only a started job's is its start.
    conclusion: event.action === "completed" ? event.conclusion : null,
    pool,
    runner_name: started ? event.runnerName : null,
    queued_at: event.createdAt,
    started_at: started ? event.startedAt : null,
    completed_at: event.action === "completed" ? event.completedAt : null,
    updated_at: event.receivedAt,
  };
}

/** `old` moved forward by `next`: the later status, and each field's first known value. */
function merge(old: JobRow, next: JobRow): JobRow {
  const forward = rank[next.status] > rank[old.status] || (rank[next.status] === rank[old.status] && next.updated_at >= old.updated_at);
  return {
    ...old,
    workflow_name: old.workflow_name ?? next.workflow_name,
    status: forward ? next.status : old.status,
    conclusion: old.conclusion ?? next.conclusion,
    pool: old.pool ?? next.pool,
    runner_name: old.runner_name ?? next.runner_name,
    queued_at: old.queued_at ?? next.queued_at,
    started_at: old.started_at ?? next.started_at,
    completed_at: old.completed_at ?? next.completed_at,
    updated_at: old.updated_at,
  };
}

const mergedColumns = ["workflow_name", "status", "conclusion", "pool", "runner_name", "queued_at", "started_at", "completed_at"] as const;

export function createJobTable(db: Database, now: () => Date): JobTable {
  const statements = prepareStatements(db);
  const { selectOne, selectMany, demand, waits, prune } = statements;
  const record = recordTransaction(db, statements);

  return {
    recordJobEvent(event, pool) {
      const { changed, row } = record(event, pool);
      return { changed, record: toRecord(row) };
    },
    getJob(jobId) {
      const row = selectOne.get(jobId) as JobRow | undefined;
      return row ? toRecord(row) : null;
    },
    listJobs(filter = {}) {
      const rows = selectMany.all({
        repository: filter.repository ?? null,
        pool: filter.pool ?? null,
        status: filter.status ?? null,
        conclusion: filter.conclusion ?? null,
        runner: filter.runner ?? null,
        since: filter.since ?? null,
        // SQLite reads a negative LIMIT as "no limit".
        limit: filter.limit ?? -1,
      }) as JobRow[];
      return rows.map(toRecord);
    },
    queuedDemand(at, maxAgeMs) {
      const rows = demand.all({ cutoff: at - maxAgeMs }) as { pool: string; n: number }[];
      return new Map(rows.map((r) => [r.pool, r.n]));
    },
    queueWaits(filter = {}) {
      const rows = waits.all({ repository: filter.repository ?? null, pool: filter.pool ?? null, since: filter.since ?? null }) as { wait: number }[];
      return rows.map((r) => r.wait);
    },
    pruneJobs(olderThanMs) {
      return prune.run(now().getTime() - olderThanMs).changes;
    },
  };
}

function prepareStatements(db: Database) {
  // The sort key: a job always has one of these times, and GitHub always sends created_at.
  const at = "COALESCE(queued_at, started_at, completed_at, updated_at)";
  return {
    selectOne: db.prepare("SELECT * FROM jobs WHERE job_id = ?"),
    insert: db.prepare(
      `INSERT INTO jobs (job_id, run_id, connection, repository, workflow_name, job_name, labels, status, conclusion,
         pool, runner_name, queued_at, started_at, completed_at, updated_at)
       VALUES (@job_id, @run_id, @connection, @repository, @workflow_name, @job_name, @labels, @status, @conclusion,
         @pool, @runner_name, @queued_at, @started_at, @completed_at, @updated_at)`,
    ),
    update: db.prepare(
      `UPDATE jobs SET workflow_name = @workflow_name, status = @status, conclusion = @conclusion, pool = @pool,
         runner_name = @runner_name, queued_at = @queued_at, started_at = @started_at, completed_at = @completed_at,
         updated_at = @updated_at
       WHERE job_id = @job_id`,
    ),
    selectMany: db.prepare(
      `SELECT * FROM jobs
       WHERE (@repository IS NULL OR repository = @repository COLLATE NOCASE) AND (@pool IS NULL OR pool = @pool)
         AND (@status IS NULL OR status = @status) AND (@conclusion IS NULL OR conclusion = @conclusion)
         AND (@runner IS NULL OR runner_name = @runner) AND (@since IS NULL OR ${at} >= @since)
       ORDER BY ${at} DESC, job_id DESC LIMIT @limit`,
    ),
    demand: db.prepare(
      `SELECT pool, COUNT(*) AS n FROM jobs
       WHERE status IN ('queued', 'waiting') AND status = 'queued' -- the first term lets SQLite use the jobs_pending index
         AND pool IS NOT NULL AND COALESCE(queued_at, updated_at) >= @cutoff
       GROUP BY pool`,
    ),
    waits: db.prepare(
      `SELECT MAX(0, started_at - queued_at) AS wait FROM jobs
       WHERE started_at IS NOT NULL AND queued_at IS NOT NULL
         AND (@repository IS NULL OR repository = @repository COLLATE NOCASE) AND (@pool IS NULL OR pool = @pool)
         AND (@since IS NULL OR queued_at >= @since)
       ORDER BY wait`,
    ),
    prune: db.prepare("DELETE FROM jobs WHERE updated_at < ?"),
  };
}

// Read, merge and write in one transaction: the CLI never writes jobs, but two deliveries of one
// job may be handled back to back.
function recordTransaction(db: Database, { selectOne, insert, update }: ReturnType<typeof prepareStatements>) {
  return db.transaction((event: JobEvent, pool: string | null): { changed: boolean; row: JobRow } => {
    const next = rowOf(event, pool);
    const old = selectOne.get(event.jobId) as JobRow | undefined;
    if (!old) {
      insert.run(next);
      return { changed: true, row: next };
    }
    const merged = merge(old, next);
    const changed = mergedColumns.some((column) => merged[column] !== old[column]);
    if (!changed) return { changed: false, row: old };
    merged.updated_at = Math.max(old.updated_at, event.receivedAt);
    update.run(merged);
    return { changed: true, row: merged };
  });
}
