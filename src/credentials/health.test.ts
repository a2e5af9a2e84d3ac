import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/index.js";
import { credentialHealth } from "./health.js";

const now = Date.parse("2026-11-28T12:00:00Z");
const min = 60_000;
const config = parseConfig(
  `github:
  push: { auth: { type: push } }
  pat: { auth: { type: pat, token_file: /etc/runnerd/pat } }
pools:
  - { name: web, connection: push, scope: { repo: acme/web }, image: x }
  - { name: web2, connection: push, scope: { repo: Acme/Web }, image: x }
  - { name: org, connection: pat, scope: { org: acme }, image: x }
`,
  "runnerd.yaml",
);
const token = (expiresInMin: number, pushedMinAgo: number) => ({ scope: "repo:acme/web", expiresAt: new Date(now + expiresInMin * min), updatedAt: new Date(now - pushedMinAgo * min), source: "oidc:acme/infra" });

describe("credentialHealth", () => {
  it("reports each scope once, push and JIT alike", () => {
    const health = credentialHealth(config, [token(50, 10)], new Map(), now);
    expect(health.map((h) => [h.scope, h.mode, h.level])).toEqual([
      ["repo:acme/web", "push", "ok"],
      ["org:acme", "pat", "ok"],
    ]);
    expect(health[0]).toMatchObject({ message: "token expires in 50m; pushed 10m ago", lastPushAt: now - 10 * min, source: "oidc:acme/infra" });
  });

  it("warns when the scheduled push is late, before the token runs out", () => {
    const [web] = credentialHealth(config, [token(14, 46)], new Map(), now);
    expect(web).toMatchObject({ level: "warn", message: "no push for 46m (expected every 30m; GitHub may delay scheduled workflows): token expires in 14m" });
  });

  it("errors without a token, with an expired one, and with one too short-lived to start runners", () => {
    expect(credentialHealth(config, [], new Map(), now)[0]).toMatchObject({ level: "error", message: expect.stringContaining("runnerd workflow print --scope repo:acme/web") });
    expect(credentialHealth(config, [token(-3, 63)], new Map(), now)[0]).toMatchObject({ level: "error", message: expect.stringMatching(/^token expired 3m ago/) });
    expect(credentialHealth(config, [token(4, 20)], new Map(), now)[0]).toMatchObject({ level: "error", message: expect.stringMatching(/^token expires in 4m, too soon/) });
  });

  it("warns about a PAT about to expire and a nearly spent API budget", () => {
    const soon = credentialHealth(config, [token(50, 10)], new Map([["pat", { credentialExpiresAt: now + 2 * 24 * 60 * min }]]), now)[1];
    expect(soon).toMatchObject({ level: "warn", message: "the PAT expires in 2d: replace it before then" });
    const spent = credentialHealth(config, [token(50, 10)], new Map([["pat", { rateLimit: { remaining: 12, limit: 5000, resetAt: now + 20 * min } }]]), now)[1];
    expect(spent).toMatchObject({ level: "warn", message: expect.stringContaining("12/5000 left, resets in 20m") });
    const expired = credentialHealth(config, [], new Map([["pat", { credentialExpiresAt: now - min }]]), now)[1];
    expect(expired).toMatchObject({ level: "error" });
  });
});
