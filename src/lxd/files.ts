// Files inside instances: push, pull, list, mkdir, delete. LXD serves these on stopped instances too.
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { LxdError } from "../errors.js";
import { answerHeader, bothHeaderFamilies } from "./headers.js";
import { isNotFound, parseMetadata } from "./response.js";
import { stringListSchema } from "./schema.js";
import { instancePath } from "./instances.js";
import type { Transport } from "./transport.js";

export interface FileOwnership {
  /** Permission bits, e.g. 0o600. */
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface MakeDirectoryOptions extends FileOwnership {
  /** Also create missing parents (LXD itself does not), with the same mode and owner. */
  parents?: boolean;
}

/** Writes (replaces) a file; the parent directory must exist (see `makeDirectory`). */
export interface PushOptions extends FileOwnership {
  /** For large files (a runner tarball is ~200 MB). */
  timeoutMs?: number;
}

export async function pushFile(t: Transport, instance: string, path: string, content: Buffer | string | Readable, opts: PushOptions = {}): Promise<void> {
  await t.request("POST", filesPath(instance), {
    what: `push file ${path} to instance ${instance}`,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    query: { path },
    rawBody: content,
    headers: { ...bothHeaderFamilies({ ...ownership(opts, 0o644), type: "file", write: "overwrite" }), "content-type": "application/octet-stream" },
  });
}

/** Creates a directory; an existing directory is left as it is, which makes this idempotent. */
export async function makeDirectory(t: Transport, instance: string, path: string, opts: MakeDirectoryOptions = {}): Promise<void> {
  const dirs = opts.parents ? ancestorsAndSelf(path) : [path];
  for (const dir of dirs) {
    await t.request("POST", filesPath(instance), {
      what: `make directory ${dir} in instance ${instance}`,
      query: { path: dir },
      headers: bothHeaderFamilies({ ...ownership(opts, 0o755), type: "directory" }),
    });
  }
}

/** Bounds for reading a file an instance (a job, perhaps hostile) controls. */
export interface PullOptions {
  /** The read's deadline: a job can make a read hang (a FIFO where a file was expected). */
  timeoutMs?: number;
  /** Larger files are refused, not read whole into memory. */
  maxBytes?: number;
}

/** The file's bytes, or null when it does not exist. A symlink answers with its target. */
export async function pullFile(t: Transport, instance: string, path: string, opts: PullOptions = {}): Promise<Buffer | null> {
  const what = `pull file ${path} from instance ${instance}`;
  try {
    const res = await t.requestRaw("GET", filesPath(instance), { what, query: { path }, ...opts });
    if (answerHeader(res.headers, "type") === "directory") throw new LxdError(`${what}: it is a directory`, 400);
    return res.body;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** How much of a file `pullFileTo` wrote, and whether it stopped at `maxBytes`. */
export interface PulledFile {
  bytes: number;
  truncated: boolean;
}

/**
 * Streams a file to `dest` on the host (mode 0640), keeping at most `maxBytes` of it: larger files
 * are cut there, not refused. Null (and no `dest`) when the file does not exist; on any error
 * `dest` is removed, so a half-written file is never taken for the whole.
 */
export async function pullFileTo(t: Transport, instance: string, path: string, dest: string, opts: PullOptions = {}): Promise<PulledFile | null> {
  const what = `pull file ${path} from instance ${instance}`;
  const sink = createWriteStream(dest, { mode: 0o640 });
  try {
    const res = await t.requestRaw("GET", filesPath(instance), { what, query: { path }, ...opts, truncate: true, sink });
    if (answerHeader(res.headers, "type") === "directory") throw new LxdError(`${what}: it is a directory`, 400);
    sink.end();
    await finished(sink);
    return { bytes: res.size, truncated: res.truncated };
  } catch (err) {
    sink.destroy();
    await rm(dest, { force: true });
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Entry names of a directory, or null when it does not exist. */
export async function listDirectory(t: Transport, instance: string, path: string): Promise<string[] | null> {
  const what = `list directory ${path} in instance ${instance}`;
  try {
    const res = await t.requestRaw("GET", filesPath(instance), { what, query: { path } });
    // A directory comes back as a JSON envelope whose metadata lists the entries; a file as raw bytes.
    const type = answerHeader(res.headers, "type");
    if (type !== "directory") throw new LxdError(`${what}: it is a ${type ?? "file"}, not a directory`, 400);
    const envelope = JSON.parse(res.body.toString("utf8")) as { metadata?: unknown };
    return parseMetadata(what, stringListSchema, envelope.metadata) ?? [];
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Deletes a file or empty directory; 404 counts as done. Needs the `file_delete` extension. */
export async function deleteFile(t: Transport, instance: string, path: string): Promise<void> {
  try {
    await t.request("DELETE", filesPath(instance), { what: `delete file ${path} in instance ${instance}`, query: { path } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

function filesPath(instance: string): string {
  return `${instancePath(instance)}/files`;
}

function ownership(opts: FileOwnership, defaultMode: number): Record<string, string> {
  return { mode: (opts.mode ?? defaultMode).toString(8).padStart(4, "0"), uid: String(opts.uid ?? 0), gid: String(opts.gid ?? 0) };
}

/** "/a/b/c" → ["/a", "/a/b", "/a/b/c"]. */
export function ancestorsAndSelf(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}
