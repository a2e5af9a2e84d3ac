// Runner history: one row per runner (instance + registration), filled in as its life goes on.
// Every write is idempotent: after a crash the daemon may record the same step again, and the
// first recorded time (or result) stands.
import type { Database } from "better-sqlite3";

export interface NewRunner {
  name: string;
  pool: string;
  /** scopeKey() of the pool's scope. */
  scope: string;
  /** Base image alias or fingerprint the instance was cloned from. */
  image: string;
  createdAt: Date;
}

export interface RunnerResult {
  /** The runner's exit code; null when it never ran or the result file was missing. */
  exitCode: number | null;
  jobSeen: boolean;
  /**
   * How the runner ended, e.g. succeeded, failed, boot-timeout, job-timeout, spawn-failed,
   * deleted, orphaned. The reconciler owns this vocabulary; the store records it as given.
   */
  outcome: string;
  detail?: string;
  finishedAt: Date;
}

export interface RunnerRecord {
  name: string;
  pool: string;
  scope: string;
  image: string;
  createdAt: Date;
  listeningAt: Date | null;
  busyAt: Date | null;
  jobName: string | null;
  stoppedAt: Date | null;
  finishedAt: Date | null;
  exitCode: number | null;
  /** null until a result is recorded. */
  jobSeen: boolean | null;
  outcome: string | null;
  detail: string | null;
  deletedAt: Date | null;
}

export interface ListRunnersOptions {
  pool?: string;
  /** Only runners whose instance has not been recorded as deleted. */
  activeOnly?: boolean;
  limit?: number;
}

export interface RunnerTable {
  /** A second call for the same name changes nothing. */
  recordRunnerCreated(runner: NewRunner): void;
  /** The mark* and record* calls return false when the runner has no record. */
  markRunnerListening(name: string, at: Date): boolean;
  markRunnerBusy(name: string, at: Date, jobName?: string): boolean;
  markRunnerStopped(name: string, at: Date): boolean;
  recordRunnerResult(name: string, result: RunnerResult): boolean;
  markRunnerDeleted(name: string, at: Date): boolean;
  getRunner(name: string): RunnerRecord | null;
  /** Newest first (by creation time). */
  listRunners(options?: ListRunnersOptions): RunnerRecord[];
}

interface RunnerRow {
  name: string;
  pool: string;
  scope: string;
  image: string;
  created_at: number;
  listening_at: number | null;
  busy_at: number | null;
  job_name: string | null;
  stopped_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  job_seen: number | null;
  outcome: string | null;
  detail: string | null;
  deleted_at: number | null;
}

function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

function toRecord(row: RunnerRow): RunnerRecord {
  return {
    name: row.name,
    pool: row.pool,
    scope: row.scope,
    image: row.image,
    createdAt: new Date(row.created_at),
    listeningAt: toDate(row.listening_at),
    busyAt: toDate(row.busy_at),
    jobName: row.job_name,
    stoppedAt: toDate(row.stopped_at),
    finishedAt: toDate(row.finished_at),
    exitCode: row.exit_code,
    jobSeen: row.job_seen === null ? null : row.job_seen !== 0,
    outcome: row.outcome,
    detail: row.detail,
    deletedAt: toDate(row.deleted_at),
  };
}

export function createRunnerTable(db: Database): RunnerTable {
  const insert = db.prepare(
    `INSERT INTO runners (name, pool, scope, image, created_at) VALUES (@name, @pool, @scope, @image, @createdAt)
     ON CONFLICT (name) DO NOTHING`,
  );
  // Column names come from this file only, never from callers.
  const markAt = (column: string) =>
    db.prepare(`UPDATE runners SET ${column} = COALESCE(${column}, @at) WHERE name = @name`);
  const listening = markAt("listening_at");
  const stopped = markAt("stopped_at");
  const deleted = markAt("deleted_at");
  const busy = db.prepare(
    "UPDATE runners SET busy_at = COALESCE(busy_at, @at), job_name = COALESCE(job_name, @jobName) WHERE name = @name",
  );
  const result = db.prepare(
    `UPDATE runners SET
       finished_at = COALESCE(finished_at, @finishedAt),
       exit_code = CASE WHEN outcome IS NULL THEN @exitCode ELSE exit_code END,
       job_seen = CASE WHEN outcome IS NULL THEN @jobSeen ELSE job_seen END,
       detail = CASE WHEN outcome IS NULL THEN @detail ELSE detail END,
       outcome = COALESCE(outcome, @outcome)
     WHERE name = @name`,
  );
  const selectOne = db.prepare("SELECT * FROM runners WHERE name = ?");
  const selectMany = db.prepare(
    `SELECT * FROM runners
     WHERE (@pool IS NULL OR pool = @pool) AND (@activeOnly = 0 OR deleted_at IS NULL)
     ORDER BY created_at DESC, name DESC LIMIT @limit`,
  );

  return {
    recordRunnerCreated(runner) {
      insert.run({ ...runner, createdAt: runner.createdAt.getTime() });
    },
    markRunnerListening: (name, at) => listening.run({ name, at: at.getTime() }).changes > 0,
    markRunnerBusy: (name, at, jobName) => busy.run({ name, at: at.getTime(), jobName: jobName ?? null }).changes > 0,
    markRunnerStopped: (name, at) => stopped.run({ name, at: at.getTime() }).changes > 0,
    recordRunnerResult(name, r) {
      const params = {
        name,
        finishedAt: r.finishedAt.getTime(),
        exitCode: r.exitCode,
        jobSeen: r.jobSeen ? 1 : 0,
        detail: r.detail ?? null,
        outcome: r.outcome,
      };
      return result.run(params).changes > 0;
    },
    markRunnerDeleted: (name, at) => deleted.run({ name, at: at.getTime() }).changes > 0,
    getRunner(name) {
      const row = selectOne.get(name) as RunnerRow | undefined;
      return row ? toRecord(row) : null;
    },
    listRunners(options = {}) {
      const rows = selectMany.all({
        pool: options.pool ?? null,
        activeOnly: options.activeOnly ? 1 : 0,
        // SQLite reads a negative LIMIT as "no limit".
        limit: options.limit ?? -1,
      }) as RunnerRow[];
      return rows.map(toRecord);
    },
  };
}
