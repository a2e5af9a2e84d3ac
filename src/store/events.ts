// Events worth showing an operator later (runner failed, token missing, ...), in insertion order.
import type { Database } from "better-sqlite3";

export type EventLevel = "info" | "warn" | "error";

export interface NewEvent {
  level: EventLevel;
  /** Static, groupable name, e.g. "runner-boot-timeout". */
  kind: string;
  pool?: string;
  runner?: string;
  message: string;
  /** Defaults to the store's clock. */
  at?: Date;
}

export interface EventRecord {
  id: number;
  at: Date;
  level: EventLevel;
  kind: string;
  pool: string | null;
  runner: string | null;
  message: string;
}

export interface ListEventsOptions {
  limit: number;
  pool?: string;
  /** Only events after this id (to follow the log): the first `limit` of them. */
  sinceId?: number;
}

export interface EventTable {
  /** Returns the new event's id. */
  addEvent(event: NewEvent): number;
  /**
   * Oldest first. Without sinceId, the latest `limit` events; with it, the `limit` events that
   * follow it, so that polling with the last id seen never skips one.
   */
  listEvents(options: ListEventsOptions): EventRecord[];
}

interface EventRow {
  id: number;
  at: number;
  level: EventLevel;
  kind: string;
  pool: string | null;
  runner: string | null;
  message: string;
}

function toRecord(row: EventRow): EventRecord {
  return { ...row, at: new Date(row.at) };
}

export function createEventTable(db: Database, now: () => Date): EventTable {
  const insert = db.prepare(
    "INSERT INTO events (at, level, kind, pool, runner, message) VALUES (@at, @level, @kind, @pool, @runner, @message)",
  );
  const latest = db.prepare(
    `SELECT * FROM (SELECT * FROM events WHERE (@pool IS NULL OR pool = @pool) ORDER BY id DESC LIMIT @limit)
     ORDER BY id`,
  );
  const after = db.prepare(
    "SELECT * FROM events WHERE id > @sinceId AND (@pool IS NULL OR pool = @pool) ORDER BY id LIMIT @limit",
  );

  return {
    addEvent(event) {
      const info = insert.run({
        at: (event.at ?? now()).getTime(),
        level: event.level,
        kind: event.kind,
        pool: event.pool ?? null,
        runner: event.runner ?? null,
        message: event.message,
      });
      return Number(info.lastInsertRowid);
    },
    listEvents(options) {
      const params = { pool: options.pool ?? null, limit: Math.max(0, options.limit) };
      const rows =
        options.sinceId === undefined ? latest.all(params) : after.all({ ...params, sinceId: options.sinceId });
      return (rows as EventRow[]).map(toRecord);
    },
  };
}
