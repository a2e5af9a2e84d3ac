import { createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startGitHubEmulator, type ActionsOidcClaims, type GitHubEmulator, type OidcMintOptions } from "../emulator/index.js";
import { parseConfig, type Config } from "../config/index.js";
import { createOidcVerifierCache, type OidcVerifierDefaults } from "../credentials/oidc-verifier-cache.js";
import { createLogger } from "../log.js";
import { openStore, type Store } from "../store/index.js";
import { REGISTRATION_TOKEN_PATH, registrationTokenRoutes, type RegistrationTokenLimits } from "./registration-token.js";
import type { TrustProxy } from "./client-address.js";
import { startHttpServer, type HttpServer } from "./server.js";

const audience = "runnerd-test";
const caller = "Octo-Org/Runner-Tokens";
const unauthenticated = { message: "invalid or expired OIDC token" };

let emu: GitHubEmulator;
beforeAll(async () => {
  emu = await startGitHubEmulator({ validate: false });
});
afterAll(async () => {
  await emu.close();
});

function testConfig(issuer?: string): Config {
  return parseConfig(
    `state_dir: /var/lib/runnerd-test
github:
  main:
    url: ${emu.url}
    auth:
      type: push
      oidc:
        audience: ${audience}${issuer === undefined ? "" : `\n        issuer: ${issuer}`}
        allow:
          - repository: ${caller.toLowerCase()}
            ref: refs/heads/main
            scopes: [repo:octo-org/app, org:octo-org]
pools:
  - { name: app, scope: { repo: Octo-Org/App }, image: x }
  - { name: other, scope: { repo: octo-org/other }, image: x }
  - { name: org, scope: { org: octo-org }, image: x }
`,
    "runnerd.yaml",
  );
}

interface Harness {
  server: HttpServer;
  store: Store;
  logs: Record<string, unknown>[];
  logText(): string;
  stored: string[];
  advance(ms: number): void;
}

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.server.close();
    h.store.close();
  }
});

async function harness(opts: { limits?: Partial<RegistrationTokenLimits>; trustProxy?: TrustProxy; verifier?: OidcVerifierDefaults; config?: Config } = {}): Promise<Harness> {
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
      done();
    },
  });
  const logger = createLogger("debug", sink);
  const store = openStore(join(mkdtempSync(join(tmpdir(), "runnerd-http-")), "state"));
  const stored: string[] = [];
  const config = opts.config ?? testConfig();
  const server = await startHttpServer({
    listen: "127.0.0.1:0",
    trustProxy: opts.trustProxy ?? false,
    logger,
    routes: [
      registrationTokenRoutes({
        config: () => config,
        store,
        logger,
        now,
        verifiers: createOidcVerifierCache({ now, ...opts.verifier }),
        onTokenStored: (scope) => void stored.push(scope),
        limits: opts.limits,
      }),
    ],
  });
  const h: Harness = {
    server,
    store,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join("\n"),
    stored,
    advance: (ms) => void (offsetMs += ms),
  };
  open.push(h);
  return h;
}

const mint = (claims: Partial<ActionsOidcClaims> = {}, opts: OidcMintOptions = {}) => emu.oidc.mint({ repository: caller, ...claims }, { audience, ...opts });

function registrationBody(scope = "repo:octo-org/app") {
  const grant = emu.mintRegistrationToken({ repo: "octo-org/app" });
  return { token: grant.token, expires_at: grant.expires_at, scope };
}

async function push(h: Harness, jwt: string | undefined, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${h.server.url}${REGISTRATION_TOKEN_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(jwt === undefined ? {} : { authorization: `Bearer ${jwt}` }), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** The refusal's log line: its reason, the caller's claims, and never a secret anywhere in the log. */
function expectRefusalLogged(h: Harness, reason: string, secrets: string[], claims: Record<string, unknown> = { repository: caller }) {
  const line = h.logs.filter((l) => l.level === 40 && l.reason === reason).at(-1);
  expect(line, `a warn line with reason ${reason}`).toBeDefined();
  expect(line?.claims).toMatchObject(claims);
  expectNoSecrets(h, secrets);
}

function expectNoSecrets(h: Harness, secrets: string[]) {
  const text = h.logText();
  for (const secret of secrets) {
    expect(text).not.toContain(secret);
    // The signature alone is the part that makes a JWT usable.
    const signature = secret.split(".")[2];
    if (signature) expect(text).not.toContain(signature);
  }
}

function expectStoreUnchanged(h: Harness) {
  expect(h.store.listTokens()).toEqual([]);
  expect(h.store.listEvents({ limit: 10 })).toEqual([]);
  expect(h.stored).toEqual([]);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("POST /api/v1/registration-token", () => {
  it("stores a token pushed by an allowed workflow and asks for a reconcile pass", async () => {
    const h = await harness();
    const jwt = mint();
    const body = registrationBody("repo:Octo-Org/App");
    const res = await push(h, jwt, body);
    expect(res).toMatchObject({ status: 201, json: { scope: "repo:octo-org/app", expires_at: new Date(body.expires_at).toISOString() } });

    const record = h.store.getToken("repo:octo-org/app");
    expect(record).toMatchObject({ token: body.token, expiresAt: new Date(body.expires_at) });
    expect(record?.source).toBe(`oidc:${caller}@refs/heads/main (${caller}/.github/workflows/runner-token.yml@refs/heads/main)`);
    expect(h.store.listEvents({ limit: 10 })).toMatchObject([{ kind: "token-set", level: "info" }]);
    expect(h.stored).toEqual(["repo:octo-org/app"]);

    const info = h.logs.find((l) => l.msg === "registration token pushed over HTTPS");
    expect(info).toMatchObject({ level: 30, scope: "repo:octo-org/app", claims: { repository: caller, ref: "refs/heads/main", event_name: "schedule" } });
    expectNoSecrets(h, [jwt, body.token]);
  });

  it("answers /healthz", async () => {
    const h = await harness();
    const res = await fetch(`${h.server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  describe.each<[string, () => string, string]>([
    ["alg none", () => `${b64url({ alg: "none", typ: "JWT" })}.${b64url(emu.oidc.claims({ repository: caller }, { audience }))}.`, "algorithm"],
    ["HS256 keyed with the issuer's public key", () => {
      const head = b64url({ alg: "HS256", typ: "JWT", kid: emu.oidc.kid });
      const payload = b64url(emu.oidc.claims({ repository: caller }, { audience }));
      return `${head}.${payload}.${createHmac("sha256", emu.oidc.publicKeyPem()).update(`${head}.${payload}`).digest("base64url")}`;
    }, "algorithm"],
    ["an expired token", () => mint({}, { issuedAt: new Date(Date.now() - 10 * 60_000) }), "expired"],
    ["a token not valid yet", () => mint({}, { notBeforeSeconds: 300 }), "not-yet-valid"],
    ["a token from another issuer", () => mint({}, { issuer: "https://token.actions.githubusercontent.com" }), "issuer"],
    ["a token for another audience", () => mint({}, { audience: `${emu.url}/octo-org` }), "audience"],
    ["a token signed by a key the issuer does not publish", () => mint({}, { kid: "stolen-key" }), "unknown-key"],
  ])("refuses %s with 401", (_name, token, reason) => {
    it("and stores nothing", async () => {
      const h = await harness();
      const jwt = token();
      const body = registrationBody();
      const res = await push(h, jwt, body);
      expect(res.status).toBe(401);
      expect(res.json).toEqual(unauthenticated);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expectStoreUnchanged(h);
      expectRefusalLogged(h, reason, [jwt, body.token]);
      expect(h.logs.find((l) => l.reason === reason)?.claims_verified).toBe(false);
    });
  });

  it("refuses a request without a bearer token", async () => {
    const h = await harness();
    const body = registrationBody();
    const res = await push(h, undefined, body);
    expect(res).toMatchObject({ status: 401, json: unauthenticated });
    expectStoreUnchanged(h);
    expectRefusalLogged(h, "missing-token", [body.token], {});
  });

  it.each<[string, Partial<ActionsOidcClaims>, string, string]>([
    ["a valid token from another repository", { repository: "evil-org/runner-tokens" }, "repo:octo-org/app", "rule-denied"],
    ["a valid token from another branch", { ref: "refs/heads/feature" }, "repo:octo-org/app", "rule-denied"],
    ["a scope the rules do not give the caller", {}, "repo:octo-org/other", "rule-denied"],
    ["a scope no pool serves", {}, "repo:octo-org/unknown", "scope-not-served"],
  ])("refuses %s with 403", async (_name, claims, scope, reason) => {
    const h = await harness();
    const jwt = mint(claims);
    const body = registrationBody(scope);
    const res = await push(h, jwt, body);
    expect(res).toMatchObject({ status: 403, json: { message: "this workflow may not push tokens for the scope it named" } });
    expectStoreUnchanged(h);
    expectRefusalLogged(h, reason, [jwt, body.token], { repository: claims.repository ?? caller, ref: claims.ref ?? "refs/heads/main" });
    expect(h.logs.find((l) => l.reason === reason)?.claims_verified).toBe(true);
  });

  it("refuses an oversized body with 413", async () => {
    const h = await harness();
    const jwt = mint();
    const body = { ...registrationBody(), padding: "x".repeat(17 * 1024) };
    const res = await push(h, jwt, body);
    expect(res).toMatchObject({ status: 413, json: { message: "body larger than 16384 bytes" } });
    expectStoreUnchanged(h);
    expectRefusalLogged(h, "body-too-large", [jwt, body.token]);
  });

  it("refuses a body that is not JSON (415) or not a registration token (400)", async () => {
    const h = await harness();
    const body = registrationBody();
    let res = await push(h, mint(), JSON.stringify(body), { "content-type": "text/plain" });
    expect(res).toMatchObject({ status: 415, json: { message: "send JSON with Content-Type: application/json" } });
    // A JSON syntax error quotes the text around it: neither answer nor log may carry it.
    res = await push(h, mint(), `{"token": "${body.token}", "expires_at": ${body.expires_at}}`);
    expect(res).toMatchObject({ status: 400, json: { message: "body is not valid JSON" } });
    expect(JSON.stringify(res.json)).not.toContain(body.token);
    res = await push(h, mint(), { ...body, token: "has spaces in it" });
    expect(res).toMatchObject({ status: 400, json: { message: "field token is missing or malformed in the request body" } });
    res = await push(h, mint(), { ...body, expires_at: new Date(Date.now() - 1000).toISOString() });
    expect(res).toMatchObject({ status: 400, json: { message: expect.stringMatching(/^field expires_at in the request body is not in the future/) as unknown } });
    res = await push(h, mint(), { ...body, scope: "repo:not a scope" });
    expect(res).toMatchObject({ status: 400, json: { message: "field scope is not repo:owner/name or org:name" } });
    const empty = await fetch(`${h.server.url}${REGISTRATION_TOKEN_PATH}`, { method: "POST", headers: { authorization: `Bearer ${mint()}` } });
    expect(empty.status).toBe(415);
    expectStoreUnchanged(h);
    expectRefusalLogged(h, "bad-body", [body.token]);
    expect(h.logs.filter((l) => l.reason === "bad-body").map((l) => l.detail)).toContain("FST_ERR_CTP_INVALID_JSON_BODY");
  });

  it("refuses a replayed request, also after the token expired", async () => {
    const h = await harness();
    const jwt = mint({}, { expiresInSeconds: 120 });
    const body = registrationBody();
    expect((await push(h, jwt, body)).status).toBe(201);
    const before = { tokens: h.store.listTokens(), events: h.store.listEvents({ limit: 10 }) };

    const again = await push(h, jwt, registrationBody());
    expect(again).toMatchObject({ status: 401, json: unauthenticated });
    expectRefusalLogged(h, "replayed", [jwt, body.token]);

    h.advance(10 * 60_000);
    const late = await push(h, jwt, registrationBody());
    expect(late).toMatchObject({ status: 401, json: unauthenticated });
    expectRefusalLogged(h, "expired", [jwt, body.token]);
    expect({ tokens: h.store.listTokens(), events: h.store.listEvents({ limit: 10 }) }).toEqual(before);
    expect(h.stored).toEqual(["repo:octo-org/app"]);
  });

  it("accepts a token signed by a rotated key once the key set is refetched", async () => {
    const h = await harness({ verifier: { jwksCooldownMs: 0 } });
    expect((await push(h, mint(), registrationBody())).status).toBe(201);
    const fetched = emu.oidc.fetches.jwks;
    emu.oidc.rotateKey();
    expect((await push(h, mint(), registrationBody())).status).toBe(201);
    expect(emu.oidc.fetches.jwks).toBe(fetched + 1);
  });

  it("limits pushes per repository with 429 and Retry-After", async () => {
    const h = await harness({ limits: { perRepository: { limit: 2, windowMs: 60_000 } } });
    expect((await push(h, mint(), registrationBody())).status).toBe(201);
    expect((await push(h, mint(), registrationBody())).status).toBe(201);
    const tokens = h.store.listTokens();
    const jwt = mint({ repository: caller.toUpperCase() });
    const body = registrationBody();
    const res = await push(h, jwt, body);
    expect(res).toMatchObject({ status: 429, json: { message: "too many requests; retry later" } });
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(50);
    expect(h.store.listTokens()).toEqual(tokens);
    expectRefusalLogged(h, "repository-rate-limited", [jwt, body.token], { repository: caller.toUpperCase() });
    // Refused before verification: the token is not spent and works once the window has passed.
    h.advance(61_000);
    expect((await push(h, jwt, registrationBody())).status).toBe(201);
    // Another repository is not held back.
    expect((await push(h, mint({ repository: "octo-org/elsewhere" }), registrationBody())).status).toBe(403);
  });

  it("blocks an address after repeated failed authentications, by the address the trusted proxy saw", async () => {
    const h = await harness({ trustProxy: ["127.0.0.1"], limits: { failedAuthPerAddress: { limit: 3, windowMs: 60_000 } } });
    // The proxy appends the address it saw; anything left of it is the caller's own claim.
    const from = (address: string, forged = "10.9.8.7") => ({ "x-forwarded-for": `${forged}, ${address}` });
    for (let i = 0; i < 3; i++) expect((await push(h, "bad.token.here", registrationBody(), from("203.0.113.7", `198.51.100.${i}`))).status).toBe(401);
    const blocked = await push(h, "bad.token.here", registrationBody(), from("203.0.113.7"));
    expect(blocked).toMatchObject({ status: 429, json: { message: "too many requests; retry later" } });
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(50);
    expect(h.logs.find((l) => l.reason === "address-rate-limited")).toMatchObject({ address: "203.0.113.7", detail: "malformed" });
    // Another client is not held back, whatever it forges.
    expect((await push(h, "bad.token.here", registrationBody(), from("198.51.100.2", "203.0.113.7"))).status).toBe(401);
    h.advance(61_000);
    expect((await push(h, "bad.token.here", registrationBody(), from("203.0.113.7"))).status).toBe(401);
  });

  it("limits 40 failures from one client behind a one-hop proxy, whatever address each forges", async () => {
    const h = await harness({ trustProxy: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const forged = { "x-forwarded-for": `192.0.2.${i}, 203.0.113.${i % 7}, 198.51.100.77` };
      statuses.push((await push(h, `forged.token.${i}`, registrationBody(), forged)).status);
    }
    expect(statuses.slice(0, 30)).toEqual(new Array(30).fill(401));
    expect(statuses.slice(30)).toEqual(new Array(10).fill(429));
    expect(new Set(h.logs.filter((l) => l.level === 40).map((l) => l.address))).toEqual(new Set(["198.51.100.77"]));
  });

  it("accepts a valid token from an address over the failed-authentication limit", async () => {
    // trust_proxy off behind a proxy: every caller shares the proxy's address.
    const h = await harness({ limits: { failedAuthPerAddress: { limit: 3, windowMs: 60_000 } } });
    for (let i = 0; i < 5; i++) await push(h, "bad.token.here", registrationBody());
    expect((await push(h, "bad.token.here", registrationBody())).status).toBe(429);
    const jwt = mint();
    const body = registrationBody();
    expect(await push(h, jwt, body)).toMatchObject({ status: 201, json: { scope: "repo:octo-org/app" } });
    expect(h.store.getToken("repo:octo-org/app")?.token).toBe(body.token);
    // A verified token that fails a later check (a replay) is a failure like any other.
    expect((await push(h, jwt, registrationBody())).status).toBe(429);
  });

  it("counts the failures of an IPv6 client per /64", async () => {
    const h = await harness({ trustProxy: ["127.0.0.1"], limits: { failedAuthPerAddress: { limit: 3, windowMs: 60_000 } } });
    const from = (address: string) => ({ "x-forwarded-for": address });
    for (let i = 1; i <= 3; i++) expect((await push(h, "bad.token.here", registrationBody(), from(`2001:db8:1:2::${i}`))).status).toBe(401);
    expect((await push(h, "bad.token.here", registrationBody(), from("2001:db8:1:2:ffff:ffff:ffff:ffff"))).status).toBe(429);
    expect((await push(h, "bad.token.here", registrationBody(), from("2001:db8:1:3::1"))).status).toBe(401);
  });

  it("cuts an expiry more than an hour ahead to an hour and the clock margin, and says so in the answer and the log", async () => {
    const h = await harness();
    const body = { ...registrationBody(), expires_at: "2999-01-01T00:00:00Z" };
    const res = await push(h, mint(), body);
    expect(res.status).toBe(201);
    const stored = h.store.getToken("repo:octo-org/app")?.expiresAt.getTime() ?? 0;
    expect(res.json.expires_at).toBe(new Date(stored).toISOString());
    expect(stored).toBeLessThanOrEqual(Date.now() + 65 * 60_000);
    expect(stored).toBeGreaterThan(Date.now() + 64 * 60_000);
    expect(h.logs.find((l) => l.level === 40 && String(l.msg).includes("more than an hour ahead"))).toMatchObject({ expires_at_sent: "2999-01-01T00:00:00.000Z" });
  });

  it("quotes no part of a malformed body in its answer", async () => {
    const h = await harness();
    const marker = "MARKER5e1d0b";
    const token = `${marker}AABBCC`;
    const bodies: unknown[] = [
      `{"token": "${token}", "expires_at": ${marker}, "scope": "repo:octo-org/app"}`,
      `{"token": "${token}", "scope": "repo:${marker}`,
      { token, expires_at: marker, scope: "repo:octo-org/app" },
      { token: `${marker} x`, expires_at: "2099-01-01T00:00:00Z", scope: "repo:octo-org/app" },
      { token, expires_at: "2099-01-01T00:00:00Z", scope: `repo:${marker}/$(id)` },
      { token, expires_at: "2099-01-01T00:00:00Z", scope: `org:${marker}` },
      [marker],
    ];
    for (const body of bodies) {
      const res = await push(h, mint(), body);
      expect([400, 403], JSON.stringify(body)).toContain(res.status);
      expect(JSON.stringify(res.json)).not.toContain(marker);
      expect(JSON.stringify(res.json).toLowerCase()).not.toContain(marker.toLowerCase());
    }
    expectStoreUnchanged(h);
  });

  it("answers 503 without counting a failure when the issuer cannot be reached", async () => {
    const deadIssuer = "http://127.0.0.1:9/_services/token";
    const h = await harness({ config: testConfig(deadIssuer), limits: { failedAuthPerAddress: { limit: 1, windowMs: 60_000 } }, verifier: { fetchTimeoutMs: 1000 } });
    const res = await push(h, mint({}, { issuer: deadIssuer }), registrationBody());
    expect(res).toMatchObject({ status: 503, json: { message: "OIDC tokens cannot be verified right now; retry later" } });
    expect(res.headers.get("retry-after")).toBeTruthy();
    // Not counted as a failed authentication: the second attempt is not rate-limited.
    expect((await push(h, mint({}, { issuer: deadIssuer }), registrationBody())).status).toBe(503);
    expectRefusalLogged(h, "issuer-unreachable", []);
    expectStoreUnchanged(h);
  });
});
