// The read-only status page: `GET /` (a self-contained HTML page), `GET /api/v1/status` (the same
// data as JSON) and `GET /api/v1/events` (server-sent events with a fresh snapshot every 2 s and
// whenever the daemon says something changed). Nothing here changes state.
import type { FastifyPluginAsync } from "fastify";
import type { CredentialHealth } from "../credentials/health.js";
import type { JobRecord } from "../store/job-types.js";
import type { PoolReport } from "../pools/reconciler.js";
import type { RunnerPhase } from "../pools/types.js";
import { addressKey } from "./client-address.js";
import { statusPage } from "./status-page-html.js";
import { createStatusStream } from "./status-stream.js";

export const STATUS_PATH = "/api/v1/status";
export const STATUS_EVENTS_PATH = "/api/v1/events";

/** A pool as the reconciler reports it, with its queued jobs always present. */
export type StatusPagePool = Omit<PoolReport, "queued" | "tokenExpiresAt" | "credential"> & {
  /** Jobs waiting for a runner of this pool. */
  queued: number;
};

export interface StatusPageRunner {
  name: string;
  pool: string;
  phase: RunnerPhase;
  /** ms since the epoch. */
  createdAt: number;
  /** The job it runs, when busy. */
  job?: string;
}

/** Everything the page shows, as one snapshot. Times are ms since the epoch. */
export interface StatusPageData {
  at: number;
  daemon: { pid: number; startedAt: number; version?: string };
  pools: StatusPagePool[];
  runners: StatusPageRunner[];
  /** On a cluster: each member's state and what it holds (absent on a single server). */
  members?: { name: string; state: string; runners: number; idle: number; busy: number; lost: number }[];
  /** The most recent jobs, newest first (at most 50). */
  jobs: JobRecord[];
  credentials: CredentialHealth[];
  /** The LXD storage pool runners live on; null when unknown. */
  storage: { pool: string; usedBytes: number; totalBytes: number } | null;
}

export interface StatusPageDeps {
  snapshot(): Promise<StatusPageData>;
  /** Calls `notify` when the status changed (a pass ended); returns the unsubscribe function. */
  subscribe?(notify: () => void): () => void;
  /** How often open event streams get a fresh snapshot; 2 s. */
  intervalMs?: number;
  /** Open event streams allowed at once (each browser tab holds one); 32. */
  maxStreams?: number;
  /** Open event streams one client address (an IPv6 /64) may hold; 4. */
  maxStreamsPerClient?: number;
  /** An event stream ends this long after it opened, and the page reconnects; 10 minutes. */
  maxStreamMs?: number;
}

export function statusPageRoutes(deps: StatusPageDeps): FastifyPluginAsync {
  return async (app) => {
    const stream = createStatusStream({
      snapshot: deps.snapshot,
      subscribe: deps.subscribe,
      intervalMs: deps.intervalMs ?? 2000,
      maxClients: deps.maxStreams ?? 32,
      maxPerClient: deps.maxStreamsPerClient ?? 4,
      maxLifetimeMs: deps.maxStreamMs ?? 10 * 60_000,
      onError: (err) => app.log.warn({ err }, "status page: snapshot failed"),
    });
    // Open streams never end by themselves: end them before the server waits for its connections.
    app.addHook("preClose", async () => stream.close());

    app.get("/", async (_request, reply) =>
      reply
        .type("text/html; charset=utf-8")
        .header("content-security-policy", statusPage.contentSecurityPolicy)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "no-store")
        .send(statusPage.html),
    );
    app.get(STATUS_PATH, async (_request, reply) => reply.header("cache-control", "no-store").send(await deps.snapshot()));
    // No HEAD: it would hold a stream slot without ever receiving a frame.
    app.get(STATUS_EVENTS_PATH, { exposeHeadRoute: false }, async (request, reply) => {
      const client = addressKey(request.ip);
      const refusal = stream.refusal(client);
      if (refusal === "full") return reply.code(503).header("retry-after", "10").send({ message: "too many open status streams" });
      if (refusal === "client-full") return reply.code(429).header("retry-after", "10").send({ message: "too many open status streams from this address" });
      reply.hijack();
      stream.add(reply.raw, client);
      return reply;
    });
  };
}
