import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { createLogger } from "../log.js";
import { parseListen, startHttpServer } from "./server.js";

const logger = createLogger("warn", new Writable({ write: (_chunk, _encoding, done) => done() }));

describe("parseListen", () => {
  it.each([
    ["127.0.0.1:8780", { host: "127.0.0.1", port: 8780 }],
    ["[::1]:0", { host: "::1", port: 0 }],
    ["localhost:443", { host: "localhost", port: 443 }],
  ])("reads %s", (listen, expected) => {
    expect(parseListen(listen)).toEqual(expected);
  });

  it.each(["127.0.0.1", ":8780", "[::1]", "host:99999", "a b:1"])("refuses %j", (listen) => {
    expect(() => parseListen(listen)).toThrow(ConfigError);
  });
});

describe("startHttpServer", () => {
  it("binds a free port, serves /healthz and routes, answers JSON 404s, and closes", async () => {
    const server = await startHttpServer({
      listen: "127.0.0.1:0",
      trustProxy: false,
      logger,
      routes: [async (app) => void app.get("/extra", async () => ({ extra: true }))],
    });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: "ok" });
    expect(await (await fetch(`${server.url}/extra`)).json()).toEqual({ extra: true });
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: "not found" });

    await expect(startHttpServer({ listen: `127.0.0.1:${server.port}`, trustProxy: false, logger, routes: [] })).rejects.toThrow(/cannot listen/);
    await server.close();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
