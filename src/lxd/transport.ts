// The one way runnerd talks HTTP to LXD: unix socket or pinned-certificate HTTPS, JSON envelopes, timeouts.
import { X509Certificate } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import type { PeerCertificate } from "node:tls";
import { Agent } from "undici";
import { LxdError } from "../errors.js";
import { errorFromRawAnswer, parseEnvelope, unreachableError } from "./response.js";
import type { LxdResult } from "./response.js";

export interface TransportOptions {
  /** Unix socket of the local daemon; wins over `url`. */
  socketPath?: string;
  /** `https://host:8443` of a remote daemon. */
  url?: string;
  clientCert?: string;
  clientKey?: string;
  /** PEM of the server's certificate: exactly this certificate is accepted, whatever its names. */
  serverCert?: string;
  project?: string;
  /** Per-request timeout; operations have their own, longer deadline. */
  timeoutMs?: number;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  /** Names the operation and object for error messages, e.g. "delete instance rd-web-1f". */
  what?: string;
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as-is (file content, image tarball); excludes `body`. */
  rawBody?: Buffer | string | Readable;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Stops reading the answer beyond this many bytes and throws (what an instance holds is untrusted). */
  maxBytes?: number;
  /** With `maxBytes`: keep the first `maxBytes` bytes and stop, instead of throwing. */
  truncate?: boolean;
  /** A successful answer's body goes here as it arrives (not into memory); errors are still read. */
  sink?: Writable;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  /** Empty when the body went to a `sink`. */
  body: Buffer;
  /** Bytes of the body read (written to the sink, or in `body`). */
  size: number;
  /** `truncate` cut the body at `maxBytes`. */
  truncated: boolean;
}

export interface WebSocketTarget {
  url: string;
  tls: TlsOptions | undefined;
}

export interface Transport {
  readonly endpoint: string;
  readonly project: string | undefined;
  /** JSON request; resolves to the sync metadata or the async operation, throws LxdError otherwise. */
  request(method: HttpMethod, path: string, opts?: RequestOptions): Promise<LxdResult>;
  /** Request whose successful answer is not a JSON envelope (file contents, logs). */
  requestRaw(method: HttpMethod, path: string, opts?: RequestOptions): Promise<RawAnswer>;
  websocketTarget(path: string, query?: Query): WebSocketTarget;
  /**
   * Releases the connection pool. Without `graceMs`, waits for every request in flight (however
   * long LXD takes to answer); with it, waits at most that long (requests started meanwhile
   * included), then aborts what is still in flight, and every later request fails at once.
   */
  close(graceMs?: number): Promise<void>;
}

interface TlsOptions {
  cert?: string;
  key?: string;
  ca?: string;
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

const defaultTimeoutMs = 30_000;

export function createTransport(opts: TransportOptions): Transport {
  const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
  const { origin, endpoint, agent, tls } = connect(opts);
  const inFlight = new Set<Promise<unknown>>();

  async function send(method: HttpMethod, path: string, ro: RequestOptions): Promise<RawAnswer & { what: string }> {
    const what = ro.what ?? `${method} ${path}`;
    const limit = ro.timeoutMs ?? timeoutMs;
    const headers: Record<string, string> = { ...ro.headers };
    let body: Buffer | string | Readable | undefined = ro.rawBody;
    if (ro.body !== undefined) {
      body = JSON.stringify(ro.body);
      headers["content-type"] = "application/json";
    }
    try {
      const pending = agent.request({
        origin,
        path: withQuery(path, ro.query, opts.project),
        method,
        headers,
        body,
        signal: AbortSignal.timeout(limit),
        headersTimeout: limit,
        bodyTimeout: limit,
      });
      const answered = pending.then((res) => {
        const bounds = { maxBytes: ro.maxBytes, truncate: ro.truncate === true, sink: res.statusCode < 300 ? ro.sink : undefined };
        return readBounded(res.body, bounds, what).then((answer) => ({ res, answer }));
      });
      inFlight.add(answered);
      const { res, answer } = await answered.finally(() => inFlight.delete(answered));
      return { status: res.statusCode, headers: flattenHeaders(res.headers), ...answer, what };
    } catch (err) {
      if (err instanceof LxdError) throw err;
      const name = (err as { name?: string } | null)?.name;
      const timedOut = name === "TimeoutError" || name === "HeadersTimeoutError" || name === "BodyTimeoutError";
      throw unreachableError(what, endpoint, timedOut ? Object.assign(new Error(`no answer within ${limit} ms`, { cause: err }), { code: "ETIMEDOUT" }) : err);
    }
  }

  return {
    endpoint,
    project: opts.project,
    async request(method, path, ro = {}) {
      const res = await send(method, path, ro);
      return parseEnvelope(res.what, res.status, res.body.toString("utf8"));
    },
    async requestRaw(method, path, ro = {}) {
      const res = await send(method, path, ro);
      if (res.status >= 400) throw errorFromRawAnswer(res.what, res.status, res.body.toString("utf8"));
      return { status: res.status, headers: res.headers, body: res.body, size: res.size, truncated: res.truncated };
    },
    websocketTarget(path, query) {
      const full = withQuery(path, query, opts.project);
      const url = opts.socketPath ? `ws+unix://${opts.socketPath}:${full}` : `${origin.replace(/^http/, "ws")}${full}`;
      return { url, tls };
    },
    close: (graceMs) => (graceMs === undefined ? agent.close() : closeWithin(agent, inFlight, graceMs)),
  };
}

/**
 * Waits up to `graceMs` for the requests in flight, then destroys the agent: that aborts whatever
 * is left (a call LXD never answers) and refuses later requests. Not `close()` first: undici's
 * Agent forgets its clients on close, so a destroy after it would abort nothing.
 */
async function closeWithin(agent: Agent, inFlight: ReadonlySet<Promise<unknown>>, graceMs: number): Promise<void> {
  const deadline = performance.now() + graceMs;
  let timer: NodeJS.Timeout | undefined;
  while (inFlight.size > 0) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
    await Promise.race([Promise.allSettled([...inFlight]), expired]);
    clearTimeout(timer);
  }
  await agent.destroy();
}

interface BodyBounds {
  maxBytes: number | undefined;
  truncate: boolean;
  sink: Writable | undefined;
}

/**
 * Reads an answer body into memory or into `sink`, up to `maxBytes`: past it, the rest is not
 * read, and the read throws (413) or, with `truncate`, ends with what it has.
 */
async function readBounded(body: AsyncIterable<unknown> & { destroy(err?: Error): unknown }, bounds: BodyBounds, what: string): Promise<{ body: Buffer; size: number; truncated: boolean }> {
  const { maxBytes, truncate, sink } = bounds;
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const raw of body) {
    let chunk = raw as Buffer;
    if (maxBytes !== undefined && size + chunk.length > maxBytes) {
      body.destroy();
      if (!truncate) throw new LxdError(`${what}: the answer is larger than ${maxBytes} bytes`, 413);
      chunk = chunk.subarray(0, maxBytes - size);
      truncated = true;
    }
    size += chunk.length;
    if (sink) await write(sink, chunk);
    else chunks.push(chunk);
    if (truncated) break;
  }
  return { body: Buffer.concat(chunks), size, truncated };
}

/** Writes a chunk, waiting for the sink to drain (a slow disk holds back the socket, not memory). */
async function write(sink: Writable, chunk: Buffer): Promise<void> {
  if (chunk.length === 0) return;
  if (sink.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      sink.off("drain", done).off("error", done);
      if (err) reject(err);
      else resolve();
    };
    sink.on("drain", done).on("error", done);
  });
}

function connect(opts: TransportOptions): { origin: string; endpoint: string; agent: Agent; tls: TlsOptions | undefined } {
  if (opts.socketPath) {
    // The host part is ignored on a unix socket; LXD only looks at the path.
    return { origin: "http://lxd", endpoint: opts.socketPath, agent: new Agent({ connect: { socketPath: opts.socketPath } }), tls: undefined };
  }
  if (!opts.url) throw new LxdError("connect to LXD: neither socketPath nor url given", 0);
  const url = new URL(opts.url);
  if (url.protocol !== "https:") throw new LxdError(`connect to LXD at ${opts.url}: only https:// URLs are supported`, 0);
  const tls = tlsOptions(opts);
  return { origin: url.origin, endpoint: url.origin, agent: new Agent({ connect: { ...tls, rejectUnauthorized: true } }), tls };
}

/**
 * LXD servers use self-signed certificates whose names rarely match the address used, so the pin
 * replaces the hostname check: the pinned PEM is the only trusted root and the peer must be exactly it.
 */
function tlsOptions(opts: TransportOptions): TlsOptions {
  const tls: TlsOptions = { cert: opts.clientCert, key: opts.clientKey };
  if (opts.serverCert) {
    const pinned = new X509Certificate(opts.serverCert).fingerprint256;
    tls.ca = opts.serverCert;
    tls.checkServerIdentity = (_host, cert) =>
      cert.fingerprint256 === pinned ? undefined : new Error(`LXD server certificate ${cert.fingerprint256} is not the pinned ${pinned}`);
  }
  return tls;
}

/** Adds the query and the configured project, keeping any query the path already carries. */
export function withQuery(path: string, query: Query | undefined, project: string | undefined): string {
  const [base = "", existing = ""] = path.split("?", 2);
  const params = new URLSearchParams(existing);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(key, String(value));
  }
  if (project && !params.has("project")) params.set("project", project);
  const qs = params.toString();
  return qs ? `${base}?${qs}` : base;
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) flat[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}
