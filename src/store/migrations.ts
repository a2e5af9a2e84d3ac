// The database schema as an append-only list of steps; PRAGMA user_version counts the steps applied.
import type { Database } from "better-sqlite3";
import { TerminalError } from "../errors.js";

/** Never edit a released step: add a new one. Times are milliseconds since the epoch. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tokens (
     scope      TEXT PRIMARY KEY,
     token      TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     source     TEXT NOT NULL
   ) STRICT;
   CREATE TABLE runners (
     name         TEXT PRIMARY KEY,
     pool         TEXT NOT NULL,
     scope        TEXT NOT NULL,
     image        TEXT NOT NULL,
     created_at   INTEGER NOT NULL,
     listening_at INTEGER,
     busy_at      INTEGER,
     job_name     TEXT,
     stopped_at   INTEGER,
     finished_at  INTEGER,
     exit_code    INTEGER,
     job_seen     INTEGER,
     outcome      TEXT,
     detail       TEXT,
     deleted_at   INTEGER
   ) STRICT;
   CREATE INDEX runners_by_created ON runners (created_at DESC, name DESC);
   CREATE INDEX runners_by_pool ON runners (pool, created_at DESC, name DESC);`,
  `CREATE TABLE events (
     id      INTEGER PRIMARY KEY AUTOINCREMENT,
     at      INTEGER NOT NULL,
     level   TEXT NOT NULL CHECK (level IN ('info', 'warn', 'error')),
     kind    TEXT NOT NULL,
     pool    TEXT,
     runner  TEXT,
     message TEXT NOT NULL
   ) STRICT;
   CREATE INDEX events_by_pool ON events (pool, id);`,
  // One row per GitHub job id, merged from its workflow_job deliveries (see jobs.ts).
  `CREATE TABLE jobs (
     job_id        INTEGER PRIMARY KEY,
     run_id        INTEGER NOT NULL,
     connection    TEXT NOT NULL,
     repository    TEXT NOT NULL,
     workflow_name TEXT,
     job_name      TEXT NOT NULL,
     labels        TEXT NOT NULL,
     status        TEXT NOT NULL CHECK (status IN ('queued', 'waiting', 'in_progress', 'completed')),
     conclusion    TEXT,
     pool          TEXT,
     runner_name   TEXT,
     queued_at     INTEGER,
     started_at    INTEGER,
     completed_at  INTEGER,
     updated_at    INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX jobs_by_time ON jobs (COALESCE(queued_at, started_at, completed_at, updated_at) DESC, job_id DESC);
   CREATE INDEX jobs_pending ON jobs (pool, queued_at) WHERE status IN ('queued', 'waiting');
   CREATE INDEX jobs_by_updated ON jobs (updated_at);`,
];

/** Brings the database up to `steps.length`, one transaction per step; refuses a newer database. */
export function migrate(db: Database, file: string, steps: readonly string[] = MIGRATIONS): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > steps.length) {
    // An older runnerd must not write into a schema it does not know (after a downgrade).
    throw new TerminalError(
      `open state database ${file}: schema version ${current} is newer than this runnerd supports (${steps.length}); upgrade runnerd`,
    );
  }
  for (let version = current; version < steps.length; version++) {
    const step = steps[version] ?? "";
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
