// Server-sent events for the status page. All open streams share one timer and one subscription,
// and each tick takes one snapshot for all of them, so ten open tabs cost the daemon what one does.
// Streams are capped in all and per client, and each ends after a while (the browser's
// EventSource reconnects by itself), so no client can hold every slot for good.
import type { ServerResponse } from "node:http";

export interface StatusStreamOptions {
  snapshot(): Promise<unknown>;
  subscribe?(notify: () => void): () => void;
  intervalMs: number;
  maxClients: number;
  /** Streams one client (an address, an IPv6 /64) may hold at once. */
  maxPerClient: number;
  /** A stream is ended this long after it opened. */
  maxLifetimeMs: number;
  onError(err: unknown): void;
}

export interface StatusStream {
  /** Why a new stream from `client` is refused: every slot taken, or the client's; undefined when it may open one. */
  refusal(client: string): "full" | "client-full" | undefined;
  /** Takes over a response: writes the SSE headers, sends a snapshot now and on every tick, ends it after maxLifetimeMs. */
  add(response: ServerResponse, client: string): void;
  /** Ends every open stream and stops the timer. */
  close(): void;
}

/** Open streams per client. */
class Tally {
  private readonly counts = new Map<string, number>();

  of(client: string): number {
    return this.counts.get(client) ?? 0;
  }

  add(client: string): void {
    this.counts.set(client, this.of(client) + 1);
  }

  remove(client: string): void {
    const left = this.of(client) - 1;
    if (left > 0) this.counts.set(client, left);
    else this.counts.delete(client);
  }

  clear(): void {
    this.counts.clear();
  }
}

/** The SSE response head, and how long the browser waits before it reconnects (after a break, or the stream's end). */
function writeHead(response: ServerResponse, retryMs: number): void {
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    connection: "keep-alive",
    // nginx would otherwise buffer the stream.
    "x-accel-buffering": "no",
  });
  response.write(`retry: ${retryMs}\n\n`);
}

export function createStatusStream(options: StatusStreamOptions): StatusStream {
  const clients = new Set<ServerResponse>();
  const perClient = new Tally();
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let sending = false;
  let again = false;

  // One snapshot at a time; a request during one is merged into one more.
  const broadcast = async (): Promise<void> => {
    if (sending) {
      again = true;
      return;
    }
    sending = true;
    try {
      do {
        again = false;
        const frame = await options.snapshot().then(
          (data) => `data: ${JSON.stringify(data)}\n\n`,
          (err: unknown) => void options.onError(err),
        );
        // A client that has not read the last frame yet skips this one instead of piling up.
        if (frame) for (const client of clients) if (client.writable && !client.writableNeedDrain) client.write(frame);
      } while (again && clients.size > 0);
    } finally {
      sending = false;
    }
  };
  const request = () => void broadcast();

  const start = () => {
    timer = setInterval(request, options.intervalMs);
    timer.unref();
    unsubscribe = options.subscribe?.(request);
  };
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
    unsubscribe?.();
    unsubscribe = undefined;
  };

  const track = (response: ServerResponse, client: string) => {
    clients.add(response);
    perClient.add(client);
    // Ended, not broken: the browser reconnects and takes a slot again if one is free.
    const lifetime = setTimeout(() => response.end(), options.maxLifetimeMs);
    lifetime.unref();
    response.on("close", () => {
      clearTimeout(lifetime);
      clients.delete(response);
      perClient.remove(client);
      if (clients.size === 0) stop();
    });
  };

  return {
    refusal(client) {
      if (clients.size >= options.maxClients) return "full";
      return perClient.of(client) >= options.maxPerClient ? "client-full" : undefined;
    },
    add(response, client) {
      writeHead(response, options.intervalMs);
      track(response, client);
      if (clients.size === 1) start();
      request();
    },
    close() {
      stop();
      for (const client of clients) client.end();
      clients.clear();
      perClient.clear();
    },
  };
}
