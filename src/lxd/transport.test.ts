import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { LxdError } from "../errors.js";
import { subscribeEvents } from "./events.js";
import { isDeadlineError } from "./response.js";
import { pullFileTo } from "./files.js";
import { createTransport, withQuery } from "./transport.js";

describe("withQuery", () => {
  it("adds the query and the project, keeping an existing query", () => {
    expect(withQuery("/1.0/instances", { recursion: 1, skip: undefined }, "runners")).toBe("/1.0/instances?recursion=1&project=runners");
    expect(withQuery("/1.0/x?project=other", {}, "runners")).toBe("/1.0/x?project=other");
    expect(withQuery("/1.0", undefined, undefined)).toBe("/1.0");
    expect(withQuery("/1.0/instances/c/files", { path: "/etc/a b" }, undefined)).toBe("/1.0/instances/c/files?path=%2Fetc%2Fa+b");
  });
});

/** A fake LXD on a temporary unix socket. */
async function fakeLxd(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ socketPath: string; server: Server }> {
  const dir = mkdtempSync(join(tmpdir(), "runnerd-lxd-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, "unix.socket");
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { socketPath, server };
}

/** A 64 MiB answer body written as fast as the client reads it; `written()`: how much went out. */
function bigAnswer(): { send(res: ServerResponse): void; written(): number } {
  let written = 0;
  return {
    send(res) {
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = () => {
        while (written < 64 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (written < 64 * 1024 * 1024) res.once("drain", pump);
        else res.end();
      };
      res.on("close", () => res.removeAllListeners("drain"));
      pump();
    },
    written: () => written,
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("createTransport on a unix socket", () => {
  it("sends the project and maps an error envelope", async () => {
    const seen: string[] = [];
    const { socketPath } = await fakeLxd((req, res) => {
      seen.push(req.url ?? "");
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error_code: 400, error: "Instance is running", metadata: null }));
    });
    const t = createTransport({ socketPath, project: "runners" });
    cleanups.push(() => t.close());
    await expect(t.request("DELETE", "/1.0/instances/rd-web-1f", { what: "delete instance rd-web-1f" })).rejects.toThrow(
      new LxdError("delete instance rd-web-1f: LXD answered 400: Instance is running", 400),
    );
    expect(seen).toEqual(["/1.0/instances/rd-web-1f?project=runners"]);
  });

  it("reports a missing socket as status 0", async () => {
    const t = createTransport({ socketPath: "/nonexistent/runnerd/unix.socket" });
    cleanups.push(() => t.close());
    const err = (await t.request("GET", "/1.0", { what: "read LXD server info" }).catch((e: unknown) => e)) as LxdError;
    expect(err).toBeInstanceOf(LxdError);
    expect(err.status).toBe(0);
    expect(err.message).toMatch(/^read LXD server info: LXD at \/nonexistent\/runnerd\/unix.socket not reached: .*ENOENT/);
  });

  it("reports a timeout as status 0", async () => {
    const { socketPath } = await fakeLxd(() => undefined);
    const t = createTransport({ socketPath, timeoutMs: 100 });
    cleanups.push(() => t.close());
    const err = (await t.request("GET", "/1.0").catch((e: unknown) => e)) as LxdError;
    expect(err.status).toBe(0);
    expect(err.message).toContain("no answer within 100 ms");
    expect(isDeadlineError(err)).toBe(true);
  });

  it("times out a body that stalls half way, as a hung file read does", async () => {
    const { socketPath } = await fakeLxd((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write("partial");
    });
    const t = createTransport({ socketPath });
    cleanups.push(() => t.close());
    const err = await t.requestRaw("GET", "/1.0/instances/c/files", { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(isDeadlineError(err)).toBe(true);
    expect(isDeadlineError(new LxdError("x", 0))).toBe(false);
  });

  it("refuses an answer larger than maxBytes without reading the rest", async () => {
    const big = bigAnswer();
    const { socketPath } = await fakeLxd((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      big.send(res);
    });
    const t = createTransport({ socketPath });
    cleanups.push(() => t.close());
    const err = (await t.requestRaw("GET", "/1.0/instances/c/files", { what: "pull file /x", maxBytes: 100_000 }).catch((e: unknown) => e)) as LxdError;
    expect(err).toBeInstanceOf(LxdError);
    expect(err.status).toBe(413);
    expect(err.message).toBe("pull file /x: the answer is larger than 100000 bytes");
    expect(big.written()).toBeLessThan(64 * 1024 * 1024);
  });

  it("streams a file to disk cut at maxBytes, removes what it wrote when the file is missing", async () => {
    const big = bigAnswer();
    const { socketPath } = await fakeLxd((req, res) => {
      if (req.url?.includes("missing")) {
        res.writeHead(404, { "content-type": "application/json" });
        return res.end(JSON.stringify({ type: "error", error: "not found", error_code: 404 }));
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "x-lxd-type": "file" });
      big.send(res);
    });
    const t = createTransport({ socketPath });
    cleanups.push(() => t.close());
    const dir = mkdtempSync(join(tmpdir(), "runnerd-pull-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dest = join(dir, "logs.tar.gz");
    expect(await pullFileTo(t, "c", "/var/log/big", dest, { maxBytes: 1_000_000 })).toEqual({ bytes: 1_000_000, truncated: true });
    expect(readFileSync(dest).length).toBe(1_000_000);
    expect(big.written()).toBeLessThan(64 * 1024 * 1024);
    expect(await pullFileTo(t, "c", "/missing", join(dir, "gone"), { maxBytes: 10 })).toBeNull();
    expect(existsSync(join(dir, "gone"))).toBe(false);
  });
});

describe("closing the transport with a grace period", () => {
  it("aborts a request LXD never answers once the grace period is over, and refuses later ones", async () => {
    const { socketPath } = await fakeLxd(() => undefined);
    const t = createTransport({ socketPath, timeoutMs: 60_000 });
    const hung = t.request("GET", "/1.0/instances/c/files", { what: "pull file /x" }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await t.close(200);
    const err = (await hung) as LxdError;
    const ms = performance.now() - started;
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(1_000);
    expect(err).toBeInstanceOf(LxdError);
    expect(err.status).toBe(0);
    expect(err.message).toMatch(/^pull file \/x: LXD at .* not reached: /);
    const late = (await t.request("GET", "/1.0").catch((e: unknown) => e)) as LxdError;
    expect(late.status).toBe(0);
  });

  it("lets requests that answer within the grace period finish", async () => {
    const { socketPath } = await fakeLxd((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ type: "sync", status_code: 200, metadata: { ok: true } }));
      }, 100);
    });
    const t = createTransport({ socketPath });
    const answer = t.request("GET", "/1.0");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    await t.close(5_000);
    expect(performance.now() - started).toBeLessThan(1_000);
    await expect(answer).resolves.toEqual({ kind: "sync", metadata: { ok: true }, status: 200 });
  });
});

/** A self-signed, non-CA certificate like the ones LXD generates, made with the openssl CLI. */
function selfSigned(dir: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", `/CN=${cn}`,
    "-addext", "basicConstraints=critical,CA:FALSE", "-keyout", key, "-out", cert], { stdio: "ignore" });
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

describe("createTransport over HTTPS with a pinned server certificate", () => {
  it("accepts exactly the pinned certificate, whatever its names, and presents the client certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runnerd-tls-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const server = selfSigned(dir, "lxd-server");
    const other = selfSigned(dir, "someone-else");
    const client = selfSigned(dir, "runnerd");
    const clientNames: string[] = [];
    const https = createHttpsServer({ ...server, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      clientNames.push(String((req.socket as TLSSocket).getPeerCertificate().subject.CN));
      res.end(JSON.stringify({ type: "sync", status_code: 200, metadata: { ok: true } }));
    });
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => https.close(() => resolve())));
    const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;

    const pinned = createTransport({ url, serverCert: server.cert, clientCert: client.cert, clientKey: client.key });
    cleanups.push(() => pinned.close());
    await expect(pinned.request("GET", "/1.0")).resolves.toEqual({ kind: "sync", status: 200, metadata: { ok: true } });
    expect(clientNames).toEqual(["runnerd"]);

    const wrongPin = createTransport({ url, serverCert: other.cert });
    cleanups.push(() => wrongPin.close());
    await expect(wrongPin.request("GET", "/1.0")).rejects.toMatchObject({ status: 0 });
  });
});

describe("subscribeEvents", () => {
  it("delivers events and reconnects after a drop, telling the caller to resync", async () => {
    const { socketPath, server } = await fakeLxd((_req, res) => res.end());
    const wss = new WebSocketServer({ server });
    cleanups.push(() => wss.close());
    let connections = 0;
    wss.on("connection", (ws, req) => {
      connections++;
      expect(req.url).toBe("/1.0/events?type=lifecycle");
      ws.send(JSON.stringify({ type: "lifecycle", timestamp: "2026-01-01T00:00:00Z", metadata: { action: "instance-started", source: `/1.0/instances/c${connections}` } }));
      // The first connection dies right away; the subscription must come back on its own.
      if (connections === 1) setTimeout(() => ws.terminate(), 20);
    });
    const t = createTransport({ socketPath });
    cleanups.push(() => t.close());
    const sources: string[] = [];
    let reconnects = 0;
    const sub = subscribeEvents(t, {
      types: ["lifecycle"],
      backoff: { initialMs: 10, maxMs: 20 },
      onEvent: (e) => e.type === "lifecycle" && sources.push(e.metadata.source),
      onReconnect: () => reconnects++,
    });
    cleanups.push(() => sub.close());
    await sub.ready;
    await expect.poll(() => sources, { timeout: 2000 }).toEqual(["/1.0/instances/c1", "/1.0/instances/c2"]);
    expect(reconnects).toBe(1);
  });
});
