import { Writable } from "node:stream";
import type { FastifyPluginAsync } from "fastify";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { addressKey, proxyTrust, type TrustProxy } from "./client-address.js";
import { buildHttpApp } from "./server.js";

const echoIp: FastifyPluginAsync = async (app) => {
  app.get("/ip", async (request) => ({ ip: request.ip }));
};

/** What request.ip is for a request from `peer` carrying `forwarded` as X-Forwarded-For. */
async function clientOf(trustProxy: TrustProxy, peer: string, forwarded?: string, lines: string[] = []): Promise<string> {
  const logger = createLogger("info", new Writable({ write: (chunk: Buffer, _e, done) => void (lines.push(chunk.toString()), done()) }));
  const app = await buildHttpApp({ trustProxy, logger, routes: [echoIp] });
  try {
    const res = await app.inject({ method: "GET", url: "/ip", remoteAddress: peer, headers: forwarded === undefined ? {} : { "x-forwarded-for": forwarded } });
    return (res.json() as { ip: string }).ip;
  } finally {
    await app.close();
  }
}

describe("the client address behind proxies", () => {
  it("is the socket's peer when trust_proxy is off, whatever the header says", async () => {
    expect(await clientOf(false, "203.0.113.7", "192.0.2.1")).toBe("203.0.113.7");
  });

  it("with a hop count, is the rightmost entry the proxies did not write", async () => {
    // The client sent "192.0.2.66" itself; the one proxy appended the address it saw.
    expect(await clientOf(1, "10.0.0.1", "192.0.2.66, 203.0.113.7")).toBe("203.0.113.7");
    expect(await clientOf(2, "10.0.0.1", "192.0.2.66, 203.0.113.7, 10.0.0.2")).toBe("203.0.113.7");
    expect(await clientOf(1, "10.0.0.1")).toBe("10.0.0.1");
  });

  it("with a list, skips trusted proxies from the right and stops at the first other address", async () => {
    const proxies = ["127.0.0.1", "10.0.0.0/8", "fd00::/8"];
    expect(await clientOf(proxies, "127.0.0.1", "192.0.2.66, 203.0.113.7, 10.1.2.3")).toBe("203.0.113.7");
    expect(await clientOf(proxies, "::ffff:127.0.0.1", "192.0.2.66, 2001:db8::9")).toBe("2001:db8::9");
    expect(await clientOf(proxies, "fd00::1", "203.0.113.7")).toBe("203.0.113.7");
    // A peer that is no trusted proxy is the client: its header is its own claim.
    expect(await clientOf(proxies, "198.51.100.5", "203.0.113.7")).toBe("198.51.100.5");
  });

  it("forged entries never move the answer: 40 requests from one client resolve to it", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(await clientOf(["127.0.0.1"], "127.0.0.1", `192.0.2.${i}, 198.51.100.${i}, 203.0.113.7`));
    expect([...seen]).toEqual(["203.0.113.7"]);
  });

  it("says once that requests carry X-Forwarded-For while trust_proxy is off", async () => {
    const lines: string[] = [];
    await clientOf(false, "127.0.0.1", "203.0.113.7", lines);
    expect(lines.join("")).toMatch(/X-Forwarded-For but http.trust_proxy is off/);
    const quiet: string[] = [];
    await clientOf(["127.0.0.1"], "127.0.0.1", "203.0.113.7", quiet);
    expect(quiet.join("")).not.toMatch(/trust_proxy is off/);
  });
});

describe("proxyTrust", () => {
  it("counts hops, or matches addresses and CIDRs of both families", () => {
    expect(proxyTrust(false)).toBe(false);
    const hops = proxyTrust(2);
    expect(hops && [hops("x", 0), hops("x", 1), hops("x", 2)]).toEqual([true, true, false]);
    const list = proxyTrust(["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]);
    expect(list && ["127.0.0.1", "::ffff:127.0.0.1", "10.255.0.1", "11.0.0.1", "2001:db8:ffff::1", "2001:db9::1", "unknown", ""].map((a) => list(a, 1))).toEqual([
      true, true, true, false, true, false, false, false,
    ]);
  });
});

describe("addressKey", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::ffff:1.2.3.4:5", "::ffff:1.2.3.4:5"],
  ])("%s is counted as %s", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
