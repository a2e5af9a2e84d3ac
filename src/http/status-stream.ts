// Server-sent events for the status page. All open streams share one timer and one subscription,
// and each tick takes one snapshot for all of them, so ten open tabs cost the daemon what one does.
import type { ServerResponse } from "node:http";

export interface StatusStreamOptions {
  snapshot(): Promise<unknown>;
  subscribe?(notify: () => void): () => void;
  intervalMs: number;
  maxClients: number;
  onError(err: unknown): void;
}

export interface StatusStream {
  /** False when the stream limit is reached. */
  accepts(): boolean;
  /** Takes over a response: writes the SSE headers, sends a snapshot now and on every tick. */
  add(response: ServerResponse): void;
  /** Ends every open stream and stops the timer. */
  close(): void;
}

export function createStatusStream(options: StatusStreamOptions): StatusStream {
  const clients = new Set<ServerResponse>();
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

  return {
    accepts: () => clients.size < options.maxClients,
    add(response) {
      response.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        connection: "keep-alive",
        // nginx would otherwise buffer the stream.
        "x-accel-buffering": "no",
      });
      // The browser reconnects after this long when the stream breaks.
      response.write(`retry: ${options.intervalMs}\n\n`);
      clients.add(response);
      response.on("close", () => {
        clients.delete(response);
        if (clients.size === 0) stop();
      });
      if (clients.size === 1) start();
      request();
    },
    close() {
      stop();
      for (const client of clients) client.end();
      clients.clear();
    },
  };
}
