import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { hostileName, sampleStatusPageData } from "../../test/support/status-page-data.js";
import { createLogger } from "../log.js";
import { buildHttpApp, startHttpServer, type HttpServer } from "./server.js";
import { statusPageRoutes, type StatusPageDeps } from "./status-page.js";
import { pageScript } from "./status-page-script.js";

const logger = createLogger("warn", new Writable({ write: (_chunk, _encoding, done) => done() }));
const now = Date.parse("2026-11-28T12:00:00Z");

const appWith = (deps: StatusPageDeps) => buildHttpApp({ trustProxy: false, logger, routes: [statusPageRoutes(deps)] });

describe("status page routes", () => {
  it("serve the snapshot as JSON, names with markup untouched", async () => {
    const app = await appWith({ snapshot: async () => sampleStatusPageData(now) });
    const res = await app.inject({ method: "GET", url: "/api/v1/status" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.headers["cache-control"]).toBe("no-store");
    const body = res.json<ReturnType<typeof sampleStatusPageData>>();
    expect(body).toEqual(sampleStatusPageData(now));
    expect(body.pools[1]?.name).toBe(hostileName);
    await app.close();
  });

  it("answer 500 without details when the snapshot fails", async () => {
    const app = await appWith({ snapshot: () => Promise.reject(new Error("LXD is down: /secret/path")) });
    const res = await app.inject({ method: "GET", url: "/api/v1/status" });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain("secret");
    await app.close();
  });

  it("serve a self-contained page whose only inline code the CSP allows, and no data in the markup", async () => {
    const app = await appWith({ snapshot: async () => sampleStatusPageData(now) });
    const res = await app.inject({ method: "GET", url: "/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    const csp = String(res.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
    const script = /<script>([\s\S]*)<\/script>/.exec(res.body)?.[1] ?? "";
    const style = /<style>([\s\S]*)<\/style>/.exec(res.body)?.[1] ?? "";
    expect(csp).toContain(`script-src ${hash(script)}`);
    expect(csp).toContain(`style-src ${hash(style)}`);
    for (const id of ["header", "pools", "runners", "jobs", "credentials", "storage"]) expect(res.body).toContain(`data-testid="${id}"`);
    // Nothing fetched from elsewhere: no URLs, no src attributes, no forms.
    expect(res.body).not.toMatch(/https?:\/\/|\bsrc=|<form|method="post"/i);
    expect(res.body).not.toContain("acme");
    await app.close();
  });

  it("build the page from data with textContent only", () => {
    expect(pageScript).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(pageScript).toContain("textContent");
  });

  it("answer nothing but GET", async () => {
    const app = await appWith({ snapshot: async () => sampleStatusPageData(now) });
    for (const url of ["/", "/api/v1/status", "/api/v1/events"]) expect((await app.inject({ method: "POST", url })).statusCode).toBe(404);
    await app.close();
  });
});

describe("status event stream", () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("sends a snapshot at once, on every tick and on notify; refuses past the stream limit; ends on close", async () => {
    let version = 0;
    let notify: (() => void) | undefined;
    let unsubscribed = 0;
    server = await startHttpServer({
      listen: "127.0.0.1:0",
      trustProxy: false,
      logger,
      routes: [
        statusPageRoutes({
          snapshot: async () => ({ ...sampleStatusPageData(now), at: now + version }),
          subscribe: (callback) => {
            notify = callback;
            return () => void unsubscribed++;
          },
          intervalMs: 300,
          maxStreams: 1,
        }),
      ],
    });
    const res = await fetch(`${server.url}/api/v1/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const frames = frameReader(res);
    expect((await frames.next()).at).toBe(now);

    // A second tab is refused while the limit is reached.
    const second = await fetch(`${server.url}/api/v1/events`);
    expect(second.status).toBe(503);

    version = 1;
    expect((await frames.next()).at).toBe(now + 1); // the timer
    version = 2;
    const before = Date.now();
    notify?.();
    expect((await frames.next()).at).toBe(now + 2);
    expect(Date.now() - before).toBeLessThan(250); // sooner than the timer would have

    await server.close();
    server = undefined;
    await expect(frames.next()).rejects.toThrow(/ended|terminated/);
    expect(unsubscribed).toBe(1);
  });
});

describe("status event stream limits", () => {
  let server: HttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (deps: Partial<StatusPageDeps>) => {
    server = await startHttpServer({
      listen: "127.0.0.1:0",
      trustProxy: ["127.0.0.1"],
      logger,
      routes: [statusPageRoutes({ snapshot: async () => sampleStatusPageData(now), intervalMs: 100, ...deps })],
    });
    return server.url;
  };
  const open = (url: string, client: string, signal?: AbortSignal) => fetch(`${url}/api/v1/events`, { headers: { "x-forwarded-for": client }, signal });

  it("caps the streams of one client address (an IPv6 /64) below the global cap", async () => {
    const url = await start({ maxStreams: 8, maxStreamsPerClient: 2 });
    const first = new AbortController();
    expect((await open(url, "203.0.113.7", first.signal)).status).toBe(200);
    expect((await open(url, "203.0.113.7")).status).toBe(200);
    const third = await open(url, "203.0.113.7");
    expect(third.status).toBe(429);
    expect(await third.json()).toEqual({ message: "too many open status streams from this address" });
    expect((await open(url, "198.51.100.2")).status).toBe(200);
    expect((await open(url, "2001:db8:1:2::1")).status).toBe(200);
    expect((await open(url, "2001:db8:1:2::2")).status).toBe(200);
    expect((await open(url, "2001:db8:1:2::3")).status).toBe(429);
    // A closed stream gives its slot back.
    first.abort();
    await waitUntil(async () => (await open(url, "203.0.113.7")).status === 200);
  });

  it("ends a stream after its lifetime, freeing its slot for the browser's reconnect", async () => {
    const url = await start({ maxStreams: 1, maxStreamMs: 400 });
    const res = await open(url, "203.0.113.7");
    const frames = frameReader(res);
    expect((await frames.next()).at).toBe(now);
    expect((await open(url, "198.51.100.2")).status).toBe(503);
    const opened = Date.now();
    await expect(drain(frames)).rejects.toThrow(/stream ended/);
    expect(Date.now() - opened).toBeLessThan(2000);
    await waitUntil(async () => (await open(url, "198.51.100.2")).status === 200);
  });
});

async function drain(frames: { next(): Promise<unknown> }): Promise<never> {
  for (;;) await frames.next();
}

async function waitUntil(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Reads `data:` frames from an event stream, one parsed JSON object per call. */
function frameReader(res: Response): { next(): Promise<{ at: number }> } {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return {
    async next() {
      for (;;) {
        const match = /(?:^|\n)data: (.*)\n\n/.exec(buffered);
        if (match) {
          buffered = buffered.slice(match.index + match[0].length);
          return JSON.parse(match[1] ?? "") as { at: number };
        }
        const chunk = await reader.read();
        if (chunk.done) throw new Error("stream ended");
        buffered += chunk.value;
      }
    },
  };
}
