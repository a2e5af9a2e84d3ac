// LXD's event stream over a websocket, kept open across drops, plus helpers to read lifecycle events.
import WebSocket from "ws";
import { LxdError } from "../errors.js";
import { unreachableError } from "./response.js";
import { eventSchema, lifecycleMetadataSchema } from "./schema.js";
import type { Transport } from "./transport.js";

export type EventType = "lifecycle" | "logging" | "operation";

/**
 * What LXD 5.0.2 sends, measured on the Debian 12 package with a busybox container:
 * - stop through the API, clean (force: false)        → `instance-shutdown` (requestor set)
 * - stop through the API, force                        → `instance-stopped`
 * - the instance powers itself off (`poweroff`, init exits, `kill 1`) → `instance-shutdown`,
 *   requestor absent; never `instance-stopped`
 * - reboot from inside                                 → `instance-shutdown` then `instance-restarted`
 * So "it stopped" is either action (see `isInstanceStopEvent`), and a stop event is only a hint to
 * look at the instance again, never proof that it stays stopped.
 */
export type LifecycleAction =
  | "instance-created"
  | "instance-started"
  | "instance-stopped"
  | "instance-shutdown"
  | "instance-restarted"
  | "instance-deleted"
  | "instance-updated"
  | "instance-exec"
  | "instance-file-pushed"
  | (string & {});

export interface LifecycleEvent {
  type: "lifecycle";
  timestamp: Date;
  project: string | undefined;
  location: string | undefined;
  metadata: {
    action: LifecycleAction;
    /** API path of the object, e.g. `/1.0/instances/rd-web-1f`. */
    source: string;
    context: Record<string, unknown> | undefined;
    /** Who asked; absent when the instance did it on its own. */
    requestor: { username?: string; protocol?: string } | undefined;
  };
}

export interface OtherEvent {
  type: "logging" | "operation";
  timestamp: Date;
  project: string | undefined;
  location: string | undefined;
  metadata: unknown;
}

export type LxdEvent = LifecycleEvent | OtherEvent;

export interface SubscribeOptions {
  types: EventType[];
  onEvent: (event: LxdEvent) => void;
  /** Connection problems and unreadable messages; the subscription keeps trying regardless. */
  onError?: (err: LxdError) => void;
  /** The stream came back after a drop: events may have been lost, so resync from a listing. */
  onReconnect?: () => void;
  backoff?: BackoffPolicy;
  /** Ping interval; a connection that misses one pong is dropped and reopened. */
  heartbeatMs?: number;
  random?: () => number;
}

export interface EventSubscription {
  /** Resolves once the stream is first open (events from then on are delivered); rejects if closed before. */
  ready: Promise<void>;
  close(): void;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

const defaultBackoff: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

export function subscribeEvents(t: Transport, opts: SubscribeOptions): EventSubscription {
  const what = "subscribe to LXD events";
  const backoff = opts.backoff ?? defaultBackoff;
  const random = opts.random ?? Math.random;
  let closed = false;
  let opened = false;
  let attempt = 0;
  let socket: WebSocket | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let settleReady: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }));
  // Callers that never await `ready` must not get an unhandled rejection from close().
  ready.catch(() => undefined);

  const report = (err: LxdError): void => {
    if (!closed) opts.onError?.(err);
  };

  const connect = (): void => {
    const target = t.websocketTarget("/1.0/events", { type: opts.types.join(",") });
    // ws hands these options to tls.connect unchanged; its typings declare checkServerIdentity as
    // returning boolean, while Node's tls (which actually calls it) wants Error | undefined.
    const tls = target.tls as WebSocket.ClientOptions | undefined;
    const ws = new WebSocket(target.url, { ...tls, handshakeTimeout: 10_000 });
    socket = ws;
    let alive = true;
    ws.on("open", () => {
      attempt = 0;
      if (opened) opts.onReconnect?.();
      opened = true;
      settleReady?.resolve();
      heartbeat = setInterval(() => {
        if (!alive) return ws.terminate();
        alive = false;
        ws.ping();
      }, opts.heartbeatMs ?? 30_000);
    });
    ws.on("pong", () => (alive = true));
    ws.on("message", (data) => {
      const event = parseEvent(String(data));
      if (event instanceof LxdError) report(event);
      else if (event) opts.onEvent(event);
    });
    ws.on("error", (err) => report(unreachableError(what, t.endpoint, err)));
    ws.on("close", () => {
      clearInterval(heartbeat);
      if (closed) return;
      retryTimer = setTimeout(connect, reconnectDelayMs(attempt++, backoff, random));
    });
  };

  connect();
  return {
    ready,
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(heartbeat);
      socket?.terminate();
      settleReady?.reject(new LxdError(`${what}: closed before the stream opened`, 0));
    },
  };
}

/** Exponential backoff with equal jitter: half fixed, half random, so restarts do not reconnect in step. */
export function reconnectDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** One websocket message as an event; null for types runnerd does not read; LxdError when unreadable. */
export function parseEvent(text: string): LxdEvent | LxdError | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    return new LxdError(`read LXD event: not JSON: ${text.slice(0, 200)}`, 502, { cause });
  }
  const envelope = eventSchema.safeParse(json);
  if (!envelope.success) return new LxdError(`read LXD event: unexpected shape: ${envelope.error.message}`, 502, { cause: envelope.error });
  const { type, timestamp, project, location, metadata } = envelope.data;
  const common = { timestamp: new Date(timestamp), project, location };
  if (type === "logging" || type === "operation") return { type, ...common, metadata };
  if (type !== "lifecycle") return null;
  const meta = lifecycleMetadataSchema.safeParse(metadata);
  if (!meta.success) return new LxdError(`read LXD lifecycle event: unexpected metadata: ${meta.error.message}`, 502, { cause: meta.error });
  const { action, source, context, requestor } = meta.data;
  return { type, ...common, metadata: { action, source, context: context ?? undefined, requestor: requestor ?? undefined } };
}

/** The instance a lifecycle event is about (snapshot and file events included), or null. */
export function instanceNameFromLifecycle(event: LifecycleEvent): string | null {
  const match = /^\/1\.0\/(?:instances|containers|virtual-machines)\/([^/?]+)/.exec(event.metadata.source);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

/** Both ways LXD reports an instance that went down; see `LifecycleAction` for when each is sent. */
export function isInstanceStopEvent(event: LifecycleEvent): boolean {
  return event.metadata.action === "instance-stopped" || event.metadata.action === "instance-shutdown";
}
