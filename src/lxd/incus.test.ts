// What lets one client serve LXD and Incus: both header families out, either one in, and Incus's
// answer to a duplicate create read as LXD's 409.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { LxdError } from "../errors.js";
import { listDirectory, makeDirectory, pullFile, pushFile } from "./files.js";
import { answerHeader, bothHeaderFamilies } from "./headers.js";
import { importImage } from "./images.js";
import { createInstance, deleteInstance, duplicateAsConflict, missingImageAsNotFound, waitForStopCleanup } from "./instances.js";
import type { LxdResult } from "./response.js";
import type { RawAnswer, RequestOptions, Transport } from "./transport.js";

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
}

/** A transport that records requests and answers each from `answer`. */
function recording(answer: (call: Call) => LxdResult | RawAnswer | Error): Transport & { calls: Call[] } {
  const calls: Call[] = [];
  const handle = async (method: string, path: string, ro: RequestOptions = {}): Promise<never> => {
    const call = { method, path, headers: ro.headers ?? {} };
    calls.push(call);
    // An upload's stream is never read here: close it before its file goes away.
    if (ro.rawBody instanceof Readable) await new Promise((resolve) => (ro.rawBody as Readable).once("close", resolve).destroy());
    const res = answer(call);
    if (res instanceof Error) throw res;
    return res as never;
  };
  return {
    calls,
    endpoint: "/fake.sock",
    project: undefined,
    request: handle,
    requestRaw: handle,
    websocketTarget: () => ({ url: "", tls: undefined }),
    close: () => Promise.resolve(),
  };
}

const ok: LxdResult = { kind: "sync", status: 200, metadata: {} };

describe("bothHeaderFamilies and answerHeader", () => {
  it("names every field for LXD and for Incus", () => {
    expect(bothHeaderFamilies({ type: "directory", mode: "0700" })).toEqual({
      "x-lxd-type": "directory",
      "x-incus-type": "directory",
      "x-lxd-mode": "0700",
      "x-incus-mode": "0700",
    });
  });

  it("reads an answer header under either name", () => {
    expect(answerHeader({ "x-lxd-type": "file" }, "type")).toBe("file");
    expect(answerHeader({ "x-incus-type": "directory" }, "type")).toBe("directory");
    expect(answerHeader({}, "type")).toBeUndefined();
  });
});

describe("file operations on either daemon", () => {
  it("sends type, mode, owner and write mode in both families", async () => {
    const t = recording(() => ok);
    await pushFile(t, "c", "/etc/token", "x", { mode: 0o600, uid: 1001, gid: 1001 });
    await makeDirectory(t, "c", "/home/runner", { mode: 0o700 });
    for (const family of ["x-lxd-", "x-incus-"]) {
      const pushed = { type: "file", mode: "0600", uid: "1001", gid: "1001", write: "overwrite" };
      const made = { type: "directory", mode: "0700", uid: "0", gid: "0" };
      expect(t.calls[0]?.headers).toMatchObject(Object.fromEntries(Object.entries(pushed).map(([k, v]) => [family + k, v])));
      expect(t.calls[1]?.headers).toMatchObject(Object.fromEntries(Object.entries(made).map(([k, v]) => [family + k, v])));
    }
  });

  it("lists a directory Incus answers with X-Incus-Type only", async () => {
    const body = Buffer.from(JSON.stringify({ type: "sync", metadata: ["token"] }));
    const t = recording(() => ({ status: 200, headers: { "x-incus-type": "directory", "x-incus-mode": "0700" }, body, size: body.length, truncated: false }));
    expect(await listDirectory(t, "c", "/home/runner/.config")).toEqual(["token"]);
  });

  it("refuses to pull a directory Incus calls one", async () => {
    const t = recording(() => ({ status: 200, headers: { "x-incus-type": "directory" }, body: Buffer.from("{}"), size: 2, truncated: false }));
    await expect(pullFile(t, "c", "/tmp")).rejects.toThrow("pull file /tmp from instance c: it is a directory");
  });

  it("still calls a file a file when neither header family names it a directory", async () => {
    const t = recording(() => ({ status: 200, headers: { "x-incus-type": "file" }, body: Buffer.from("bytes"), size: 5, truncated: false }));
    await expect(listDirectory(t, "c", "/etc/hostname")).rejects.toThrow("it is a file, not a directory");
  });
});

describe("image import on either daemon", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("gives the properties, fingerprint and filename in both families", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runnerd-import-"));
    dirs.push(dir);
    const tarball = join(dir, "image.tar.gz");
    writeFileSync(tarball, "not really a tarball");
    let imported = false;
    const t = recording((call) => {
      if (call.method === "POST" && call.path === "/1.0/images") {
        imported = true;
        return ok;
      }
      if (call.path.startsWith("/1.0/images/aliases/")) return new LxdError("not found", 404);
      if (call.path.startsWith("/1.0/images/")) return imported ? { kind: "sync", status: 200, metadata: { fingerprint: call.path.slice(12) } } : new LxdError("not found", 404);
      return ok;
    });
    await importImage(t, tarball, { alias: "a", properties: { "runnerd.test": "x y" } });
    const upload = t.calls.find((c) => c.method === "POST" && c.path === "/1.0/images");
    expect(upload?.headers).toMatchObject({ "x-lxd-properties": "runnerd.test=x+y", "x-incus-properties": "runnerd.test=x+y", "x-incus-filename": "image.tar.gz" });
    expect(upload?.headers["x-incus-fingerprint"]).toMatch(/^[0-9a-f]{64}$/);
    expect(upload?.headers["x-incus-fingerprint"]).toBe(upload?.headers["x-lxd-fingerprint"]);
  });
});

describe("a create whose name is taken", () => {
  const spec = { name: "c", source: { alias: "img" } };

  it("is 409 on Incus 6.0.4, which fails the operation with 500 and a database constraint", async () => {
    const incus = "Failed creating instance record: Add instance info to the database: Failed to create \"instances\" entry: UNIQUE constraint failed: instances.project_id, instances.name";
    const t = recording(() => new LxdError(`create instance c: LXD answered 500: ${incus}`, 500));
    const err = (await createInstance(t, spec, false).catch((e: unknown) => e)) as LxdError;
    expect(err).toBeInstanceOf(LxdError);
    expect(err.status).toBe(409);
    expect(err.message).toContain("UNIQUE constraint failed");
  });

  it("is 409 on later Incus, which answers 500 'already exists'", () => {
    const mapped = duplicateAsConflict(new LxdError('create instance c: LXD answered 500: Instance "c" already exists', 500));
    expect(mapped).toMatchObject({ status: 409 });
  });

  it("leaves LXD's own 409 and other failures alone", () => {
    const conflict = new LxdError("create instance c: LXD answered 409: Instance already exists", 409);
    expect(duplicateAsConflict(conflict)).toBe(conflict);
    const other = new LxdError("create instance c: LXD answered 500: Failed getting root disk: No root device could be found", 500);
    expect(duplicateAsConflict(other)).toBe(other);
    expect(duplicateAsConflict(new Error("already exists"))).toBeInstanceOf(Error);
  });
});

describe("a create from a local image that does not exist", () => {
  const incus = "create instance c: LXD answered 500: Image not provided for instance creation";

  it("is 404 'not found' on Incus 6.0.4, which answers 500 'Image not provided'", async () => {
    const t = recording(() => new LxdError(incus, 500));
    const err = (await createInstance(t, { name: "c", source: { alias: "does-not-exist/nowhere" } }, false).catch((e: unknown) => e)) as LxdError;
    expect(err.status).toBe(404);
    expect(err.message).toBe(`${incus} (image does-not-exist/nowhere not found)`);
  });

  it("leaves a remote image's failures alone", () => {
    const err = new LxdError(incus, 500);
    expect(missingImageAsNotFound(err, { alias: "debian/12", server: "https://images.example" })).toBe(err);
    expect(missingImageAsNotFound(new LxdError("create instance c: LXD answered 404: Image not found", 404), { alias: "x" })).toMatchObject({ status: 404 });
  });
});

describe("deleting an instance that just stopped by itself", () => {
  const body = (status: string, power?: string): LxdResult => ({
    kind: "sync",
    status: 200,
    metadata: { name: "c", status, status_code: status === "Running" ? 103 : 102, created_at: "2026-01-01T00:00:00Z", config: power ? { "volatile.last_state.power": power } : {} },
  });

  /** Answers the instance reads from `states` (the last one repeats) and records the order of calls. */
  function daemon(states: LxdResult[]): Transport & { calls: Call[] } {
    return recording((call) => (call.method === "GET" ? (states.length > 1 ? states.shift() : states[0]) ?? ok : ok));
  }

  it("waits through Incus's Stopped, Running, Stopped until the stop hook recorded STOPPED", async () => {
    const t = daemon([body("Stopped", "RUNNING"), body("Running", "RUNNING"), body("Running", "RUNNING"), body("Stopped", "STOPPED")]);
    await deleteInstance(t, "c");
    expect(t.calls.map((c) => c.method)).toEqual(["GET", "GET", "GET", "GET", "DELETE"]);
  });

  it("deletes at once when the stop was processed, the instance never ran, or it is running", async () => {
    for (const state of [body("Stopped", "STOPPED"), body("Stopped"), body("Running", "RUNNING")]) {
      const t = daemon([state]);
      await deleteInstance(t, "c");
      expect(t.calls.map((c) => c.method)).toEqual(["GET", "DELETE"]);
    }
  });

  it("gives each read only what is left of the bound, so a hung answer cannot stretch it", async () => {
    const t = daemon([body("Stopped", "RUNNING")]);
    const limits: (number | undefined)[] = [];
    const request = t.request.bind(t);
    t.request = (method, path, ro) => (limits.push(ro?.timeoutMs), request(method, path, ro));
    await waitForStopCleanup(t, "c", 80, 10);
    expect(limits.length).toBeGreaterThan(2);
    expect(limits.every((l) => l !== undefined && l <= 80 && l >= 1)).toBe(true);
    expect(limits.at(-1)).toBeLessThan(limits[0] ?? 0);
  });

  it("gives up waiting after the timeout (a daemon that lost its stop hook)", async () => {
    const t = daemon([body("Stopped", "RUNNING")]);
    const started = Date.now();
    await waitForStopCleanup(t, "c", 50, 10);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(t.calls.length).toBeGreaterThan(2);
  });
});
