// Writing init's files: atomically (a temporary file in the same directory, given its mode and
// owner before it gets its name), never replacing an existing file unless asked, and the
// accounts that should own them.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../../errors.js";

export interface Owner {
  uid: number;
  gid: number;
}

export interface WriteOptions {
  mode: number;
  owner?: Owner;
  /** Replace an existing file (`--force`); otherwise an existing one is refused. */
  replace: boolean;
  /** What the file is, for messages: `github.token_file`, `--config`. */
  field: string;
  /** Runs on the finished temporary file before it takes the name; throws to keep the old state. */
  check?: (path: string) => void;
}

export function writeFileAtomic(path: string, content: string | Buffer, options: WriteOptions): void {
  if (!options.replace && existsSync(path)) throw new UsageError(`${options.field}: ${path} exists; runnerd init replaces it only with --force`);
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const temp = join(dir, `.${basename(path)}.init-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    // Created with its final mode (at most): a secret is never readable by others, even briefly.
    const fd = openSync(temp, "wx", options.mode);
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, options.mode);
    if (options.owner) chownSync(temp, options.owner.uid, options.owner.gid);
    options.check?.(temp);
    if (options.replace) renameSync(temp, path);
    else linkNew(temp, path, options.field);
    syncDirectory(dir);
  } finally {
    rmSync(temp, { force: true });
  }
}

/** link(2) fails when the name exists: no file appearing meanwhile is replaced. */
function linkNew(temp: string, path: string, field: string): void {
  try {
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new UsageError(`${field}: ${path} exists; runnerd init replaces it only with --force`);
    throw err;
  }
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every filesystem lets a directory be synced; the rename is still atomic.
  }
}

/** A user's uid and primary gid (`getent passwd`), or undefined when there is none. */
export function lookupUser(name: string): Owner | undefined {
  const fields = getent("passwd", name)?.split(":");
  if (!fields || fields.length < 4) return undefined;
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** A group's gid (`getent group`), or undefined. */
export function lookupGroup(name: string): number | undefined {
  const gid = getent("group", name)?.split(":")[2];
  return gid === undefined ? undefined : Number(gid);
}

function getent(database: string, key: string): string | undefined {
  try {
    return execFileSync("getent", [database, key], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || undefined;
  } catch {
    return undefined;
  }
}
