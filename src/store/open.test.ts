import { chmodSync, chownSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { TerminalError } from "../errors.js";
import { migrate, MIGRATIONS } from "./migrations.js";
import { DATABASE_FILE, openStore } from "./open.js";
import type { Store } from "./open.js";
import { makeStateDir } from "./test-support.js";

const opened: Store[] = [];
afterEach(() => {
  for (const store of opened.splice(0)) store.close();
});

function open(dir: string): Store {
  const store = openStore(dir);
  opened.push(store);
  return store;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe("openStore", () => {
  it("creates the directory 0700 and the database files 0600", () => {
    const dir = makeStateDir();
    const store = open(dir);
    store.setToken("repo:o/r", "secret", new Date(Date.now() + 3_600_000), "test");
    expect(mode(dir)).toBe(0o700);
    expect(mode(store.file)).toBe(0o600);
    for (const suffix of ["-wal", "-shm"]) {
      expect(existsSync(store.file + suffix)).toBe(true);
      expect(mode(store.file + suffix)).toBe(0o600);
    }
  });

  it.skipIf(process.getuid?.() !== 0)("run by root, gives the files it makes to the state dir's owner (the service's user)", () => {
    const dir = makeStateDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, 4242, 4243);
    const store = open(dir);
    store.setToken("repo:o/r", "secret", new Date(Date.now() + 3_600_000), "test");
    for (const path of [store.file, `${store.file}-wal`, `${store.file}-shm`]) expect(statSync(path)).toMatchObject({ uid: 4242, gid: 4243 });
  });

  it("tightens an existing database file's mode and uses WAL", () => {
    const dir = makeStateDir();
    open(dir).close();
    opened.pop();
    const file = join(dir, DATABASE_FILE);
    // As if restored by hand with a loose mode.
    chmodSync(file, 0o644);
    open(dir);
    expect(mode(file)).toBe(0o600);
    const check = new Database(file, { readonly: true });
    expect(check.pragma("journal_mode", { simple: true })).toBe("wal");
    check.close();
  });

  it("migrates a database from an older schema version, keeping its data", () => {
    const dir = makeStateDir();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, DATABASE_FILE);
    // A database as the first release left it: version 1, before the events table.
    const old = new Database(file);
    migrate(old, file, MIGRATIONS.slice(0, 1));
    old.prepare("INSERT INTO tokens VALUES ('org:acme', 't', 1, 1, 'ssh')").run();
    expect(old.pragma("user_version", { simple: true })).toBe(1);
    old.close();

    const store = open(dir);
    expect(store.getToken("org:acme")?.token).toBe("t");
    expect(store.addEvent({ level: "info", kind: "test", message: "works" })).toBe(1);
    const check = new Database(file, { readonly: true });
    expect(check.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    check.close();
  });

  it("refuses a database newer than this runnerd", () => {
    const dir = makeStateDir();
    open(dir).close();
    opened.pop();
    const file = join(dir, DATABASE_FILE);
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => openStore(dir)).toThrow(TerminalError);
    expect(() => openStore(dir)).toThrow(
      `schema version ${MIGRATIONS.length + 1} is newer than this runnerd supports (${MIGRATIONS.length}); upgrade runnerd`,
    );
  });

  it("is safe to open twice (the CLI next to the daemon)", () => {
    const dir = makeStateDir();
    const a = open(dir);
    const b = open(dir);
    a.setToken("org:acme", "t1", new Date(0), "ssh");
    expect(b.getToken("org:acme")?.token).toBe("t1");
  });
});
