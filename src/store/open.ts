// Opens the state database: a record of tokens, runner and job history, and events. LXD, not
// this file, is the source of truth about which runners exist.
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createEventTable } from "./events.js";
import type { EventTable } from "./events.js";
import { createJobTable } from "./jobs.js";
import type { JobTable } from "./jobs.js";
import { migrate } from "./migrations.js";
import { createRunnerTable } from "./runners.js";
import type { RunnerTable } from "./runners.js";
import { createTokenTable } from "./tokens.js";
import type { TokenTable } from "./tokens.js";

export const DATABASE_FILE = "runnerd.db";

export interface StoreOptions {
  /** Clock for times the store fills in itself (token updatedAt, event at, job pruning). */
  now?: () => Date;
  /** How long a write waits for another connection's lock (the CLI and the daemon share the file). */
  busyTimeoutMs?: number;
}

export interface Store extends TokenTable, RunnerTable, EventTable, JobTable {
  /** Path of the database file. */
  readonly file: string;
  close(): void;
}

export function openStore(stateDir: string, options: StoreOptions = {}): Store {
  const now = options.now ?? (() => new Date());
  // The database holds registration tokens: nobody but runnerd's user may read it.
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, DATABASE_FILE);
  closeSync(openSync(file, "a", 0o600));
  chmodSync(file, 0o600);

  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    // WAL makes NORMAL durable against process crashes; only a power cut can lose the last commits.
    db.pragma("synchronous = NORMAL");
    migrate(db, file);
    // SQLite gives these the database file's mode already; this covers files left by an older set-up.
    for (const suffix of ["-wal", "-shm"]) {
      if (existsSync(file + suffix)) chmodSync(file + suffix, 0o600);
    }
    giveToStateDirOwner(stateDir, file);
  } catch (err) {
    db.close();
    throw err;
  }

  return {
    file,
    ...createTokenTable(db, now),
    ...createRunnerTable(db),
    ...createEventTable(db, now),
    ...createJobTable(db, now),
    close: () => db.close(),
  };
}

/**
 * root running a CLI command (`runnerd token set` in a root shell) must not leave the service,
 * which runs as the state dir's owner (the package's `runnerd`), a database it cannot open: the
 * files it made go to that owner, as the service would have made them.
 */
function giveToStateDirOwner(stateDir: string, file: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = statSync(stateDir);
  if (uid === 0) return;
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path) && statSync(path).uid !== uid) chownSync(path, uid, gid);
  }
}
