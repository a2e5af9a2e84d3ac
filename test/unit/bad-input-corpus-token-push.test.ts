// Bad-input corpus (issue 12), the HTTPS token push (`POST /api/v1/registration-token`): OIDC
// tokens a forger or a broken workflow may send, then bodies behind a valid token. Every row is
// refused with the fixed answer for its kind, quotes nothing it was sent, and stores nothing.
// Rows marked `finding` run as `it.fails` until src/ handles them. What
// src/http/registration-token.test.ts already asserts (alg none, HS256 with the public key,
// expired, another issuer or audience, an unknown key, a replay, 413) is not repeated here.
import { createHmac } from "node:crypto";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.js";
import { createOidcVerifierCache } from "../../src/credentials/oidc-verifier-cache.js";
import type { OidcFailureKind } from "../../src/credentials/oidc-errors.js";
import { startGitHubEmulator, type ActionsOidcClaims, type GitHubEmulator, type OidcMintOptions } from "../../src/emulator/index.js";
import { REGISTRATION_TOKEN_PATH, registrationTokenRoutes } from "../../src/http/registration-token.js";
import { buildHttpApp } from "../../src/http/server.js";
import { openStore, type Store } from "../../src/store/index.js";
import { MARKER, captureLogger, removeTempDirs, tempDir, type CapturedLogger } from "./bad-input-support.js";

const audience = "runnerd-corpus";
const caller = "octo/tokens";
const unauthenticated = { message: "invalid or expired OIDC token" };
const denied = { message: "this workflow may not push tokens for the scope it named" };

let emu: GitHubEmulator;
let app: FastifyInstance;
let store: Store;
let log: CapturedLogger;
const storedScopes: string[] = [];

beforeAll(async () => {
  emu = await startGitHubEmulator({ validate: false });
  const config = parseConfig(
    `github:
  main:
    url: ${emu.url}
    auth:
      type: push
      oidc:
        audience: ${audience}
        allow:
          - { repository: ${caller}, workflow_ref: ${caller}/.github/workflows/runner-token.yml@refs/heads/main, scopes: [repo:acme/web] }
  other:
    auth: { type: push }
pools:
  - { name: web, connection: main, scope: { repo: acme/web }, image: x }
  - { name: legacy, connection: other, scope: { repo: acme/legacy }, image: x }
`,
    "runnerd.yaml",
  );
  log = captureLogger();
  store = openStore(join(tempDir("token-push"), "state"));
  const loose = { limit: 10_000, windowMs: 60_000 };
  app = await buildHttpApp({
    trustProxy: false,
    logger: log.logger,
    routes: [registrationTokenRoutes({
      config: () => config,
      store,
      logger: log.logger,
      now: () => new Date(),
      verifiers: createOidcVerifierCache(),
      onTokenStored: (scope) => void storedScopes.push(scope),
      // The corpus sends many requests from one address and one repository: no row may be a 429.
      limits: { perRepository: loose, failedAuthPerAddress: loose },
    })],
  });
});
afterAll(async () => {
  await app.close();
  store.close();
  await emu.close();
  removeTempDirs();
});

const b64url = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
/** A valid token of the allowed caller, with MARKER in a claim nothing reads. */
const mint = (claims: Partial<ActionsOidcClaims> = {}, opts: OidcMintOptions = {}) => emu.oidc.mint({ repository: caller, workflow: MARKER, ...claims }, { audience, ...opts });
const claims = (over: Record<string, unknown> = {}) => b64url({ ...emu.oidc.claims({ repository: caller }, { audience }), ...over });
/** A token whose header says `header` over real claims, with a signature that is not one. */
const forged = (header: Record<string, unknown>) => `${b64url({ typ: "JWT", kid: emu.oidc.kid, ...header })}.${claims()}.${b64url(MARKER)}`;
const validBody = () => ({ token: `AABB${MARKER}`, expires_at: new Date(Date.now() + 50 * 60_000).toISOString(), scope: "repo:acme/web" });

/** `contentType` null: no Content-Type header at all. */
async function push(authorization: string | undefined, payload: string, contentType: string | null = "application/json") {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (contentType !== null) headers["content-type"] = contentType;
  const res = await app.inject({ method: "POST", url: REGISTRATION_TOKEN_PATH, headers, payload });
  return { status: res.statusCode, body: res.body, headers: res.headers };
}

/** What the store holds and what was handed on; a refusal changes none of it. */
function storeState() {
  return { tokens: store.listTokens(), events: store.listEvents({ limit: 100 }), handedOn: [...storedScopes] };
}

interface JwtRow {
  name: string;
  authorization: () => string | undefined;
  reason: OidcFailureKind;
}

const jwtRows: JwtRow[] = [
  { name: "a Basic authorization", authorization: () => `Basic ${b64url(`${caller}:${MARKER}`)}`, reason: "missing-token" },
  { name: "Bearer with no token", authorization: () => "Bearer ", reason: "missing-token" },
  { name: "two tokens in one header", authorization: () => `Bearer ${mint()} ${mint()}`, reason: "missing-token" },
  { name: "a token of two segments", authorization: () => `Bearer ${mint().split(".").slice(0, 2).join(".")}`, reason: "malformed" },
  { name: "a JWE-shaped token of five segments", authorization: () => `Bearer ${b64url({ alg: "RSA-OAEP", enc: "A256GCM" })}.${claims()}.a.b.c`, reason: "malformed" },
  { name: "a payload that is not JSON", authorization: () => `Bearer ${b64url({ alg: "RS256" })}.${b64url(`{${MARKER}`)}.AAAA`, reason: "malformed" },
  { name: "a header that is a JSON list", authorization: () => `Bearer ${b64url(["RS256"])}.${claims()}.AAAA`, reason: "malformed" },
  { name: "characters outside base64url", authorization: () => `Bearer ${mint()}+/=`, reason: "malformed" },
  { name: "a token over 16 KiB", authorization: () => `Bearer ${b64url({ alg: "RS256", kid: emu.oidc.kid, pad: "x".repeat(17 * 1024) })}.${claims()}.AAAA`, reason: "malformed" },
  { name: "alg RS512", authorization: () => `Bearer ${forged({ alg: "RS512" })}`, reason: "algorithm" },
  { name: "alg ES256", authorization: () => `Bearer ${forged({ alg: "ES256" })}`, reason: "algorithm" },
  { name: "alg PS256", authorization: () => `Bearer ${forged({ alg: "PS256" })}`, reason: "algorithm" },
  { name: "alg None with a signature", authorization: () => `Bearer ${forged({ alg: "None" })}`, reason: "algorithm" },
  { name: "alg HS512 keyed with the issuer's public key", authorization: () => {
    const signing = `${b64url({ alg: "HS512", typ: "JWT", kid: emu.oidc.kid })}.${claims()}`;
    return `Bearer ${signing}.${createHmac("sha512", emu.oidc.publicKeyPem()).update(signing).digest("base64url")}`;
  }, reason: "algorithm" },
  { name: "a critical header extension", authorization: () => `Bearer ${forged({ alg: "RS256", crit: ["x-runnerd"], "x-runnerd": 1 })}`, reason: "malformed" },
  { name: "a signature over other claims", authorization: () => `Bearer ${mint().split(".").slice(0, 2).join(".")}.${mint({ repository: "evil/tokens" }).split(".")[2] ?? ""}`, reason: "bad-signature" },
  { name: "expired 31 s ago, past the 30 s tolerance", authorization: () => `Bearer ${mint({}, { issuedAt: new Date(Date.now() - 331_000), expiresInSeconds: 300 })}`, reason: "expired" },
  { name: "issued 16 minutes ago and not expired", authorization: () => `Bearer ${mint({}, { issuedAt: new Date(Date.now() - 16 * 60_000), expiresInSeconds: 3600 })}`, reason: "too-old" },
  { name: "no exp claim", authorization: () => `Bearer ${mint({ exp: undefined })}`, reason: "missing-claim" },
  { name: "no iat claim", authorization: () => `Bearer ${mint({ iat: undefined })}`, reason: "missing-claim" },
  { name: "no sub claim", authorization: () => `Bearer ${mint({ sub: undefined })}`, reason: "missing-claim" },
  { name: "exp as a string", authorization: () => `Bearer ${mint({ exp: String(Math.floor(Date.now() / 1000) + 300) as unknown as number })}`, reason: "invalid-claim" },
  { name: "a numeric jti", authorization: () => `Bearer ${mint({ jti: 42 as unknown as string })}`, reason: "invalid-claim" },
  { name: "a repository claim with a path", authorization: () => `Bearer ${mint({ repository: "octo/tokens/../web", repository_owner: "octo" })}`, reason: "invalid-claim" },
  { name: "the issuer with a trailing slash", authorization: () => `Bearer ${mint({}, { issuer: `${emu.oidc.issuer}/` })}`, reason: "issuer" },
  { name: "the audience in upper case", authorization: () => `Bearer ${mint({}, { audience: audience.toUpperCase() })}`, reason: "audience" },
  { name: "an audience list holding ours and another", authorization: () => `Bearer ${mint({ aud: [audience, "https://elsewhere.example"] as unknown as string })}`, reason: "audience" },
];

interface BodyRow {
  name: string;
  body: string | Record<string, unknown>;
  /** Default application/json; null: none sent. */
  contentType?: string | null;
  status: number;
  message: string | RegExp;
  finding?: string;
}

const body = (over: Record<string, unknown>) => ({ ...validBody(), ...over });
const without = (key: string) => Object.fromEntries(Object.entries(validBody()).filter(([k]) => k !== key));

const bodyRows: BodyRow[] = [
  { name: "an empty object", body: {}, status: 400, message: "field scope is missing: repo:owner/name or org:name" },
  { name: "no token", body: without("token"), status: 400, message: "field token is missing or malformed in the request body" },
  { name: "no expires_at", body: without("expires_at"), status: 400, message: "field expires_at is missing in the request body" },
  { name: "expires_at a year ago", body: body({ expires_at: new Date(Date.now() - 365 * 86_400_000).toISOString() }), status: 400, message: /^field expires_at in the request body is not in the future: the token has expired/ },
  { name: "expires_at past the last date JavaScript holds", body: body({ expires_at: "+275760-09-13T00:00:00.001Z" }), status: 400, message: "field expires_at in the request body is not a date (ISO 8601, as GitHub sends it)" },
  { name: "expires_at in words", body: body({ expires_at: `tomorrow ${MARKER}` }), status: 400, message: "field expires_at in the request body is not a date (ISO 8601, as GitHub sends it)" },
  { name: "expires_at as Unix seconds", body: body({ expires_at: Math.floor(Date.now() / 1000) + 3000 }), status: 400, message: /expires_at .*(ISO 8601|string)/ },
  { name: "expires_at that is no ISO 8601 time", body: body({ expires_at: "99999" }), status: 400, message: /not a date/ },
  { name: "a token of 7 characters", body: body({ token: "AABBCCD" }), status: 400, message: "field token is missing or malformed in the request body" },
  { name: "a token with a line break", body: body({ token: `${MARKER}\nAABBCC` }), status: 400, message: "field token is missing or malformed in the request body" },
  { name: "a token as a number", body: body({ token: 12345678901234 }), status: 400, message: "field token is missing or malformed in the request body" },
  { name: "a token over 512 characters", body: body({ token: `${MARKER}${"A".repeat(520)}` }), status: 400, message: "field token is missing or malformed in the request body" },
  { name: "a scope as a number", body: body({ scope: 42 }), status: 400, message: /scope .*(string|not repo:owner\/name)/ },
  { name: "an empty scope", body: body({ scope: "" }), status: 400, message: "field scope is not repo:owner/name or org:name" },
  { name: "a scope with shell syntax", body: body({ scope: `repo:acme/web;${MARKER}` }), status: 400, message: "field scope is not repo:owner/name or org:name" },
  { name: "an org no pool serves", body: body({ scope: `org:${MARKER}` }), status: 403, message: denied.message },
  { name: "a scope only a connection without OIDC serves", body: body({ scope: "repo:acme/legacy" }), status: 403, message: denied.message },
  { name: "JSON null", body: "null", status: 400, message: 'body must be a JSON object {"token", "expires_at", "scope"}' },
  { name: "a JSON string", body: JSON.stringify(`AABB${MARKER}`), status: 400, message: 'body must be a JSON object {"token", "expires_at", "scope"}' },
  { name: "nested lists", body: `${"[".repeat(4000)}${"]".repeat(4000)}`, status: 400, message: 'body must be a JSON object {"token", "expires_at", "scope"}' },
  { name: "a __proto__ key", body: `{"__proto__": {"scope": "org:${MARKER}"}, "token": "AABB${MARKER}"}`, status: 400, message: "body is not valid JSON" },
  { name: "a constructor.prototype key", body: `{"constructor": {"prototype": {"token": "AABB${MARKER}"}}}`, status: 400, message: "body is not valid JSON" },
  { name: "an empty body", body: "", status: 400, message: "body is not valid JSON" },
  { name: "text after the object", body: `${JSON.stringify(validBody())} ${MARKER}`, status: 400, message: "body is not valid JSON" },
  { name: "a form-encoded body", body: `token=AABB${MARKER}&scope=repo:acme/web`, contentType: "application/x-www-form-urlencoded", status: 415, message: "send JSON with Content-Type: application/json" },
  { name: "no content type", body: JSON.stringify(validBody()), contentType: null, status: 415, message: "send JSON with Content-Type: application/json" },
  { name: "a content type that only starts like JSON", body: JSON.stringify(validBody()), contentType: "application/jsonp", status: 415, message: "send JSON with Content-Type: application/json" },
];

describe("bad-input corpus: OIDC tokens on the token push", () => {
  for (const row of jwtRows) {
    it(`refuses ${row.name} with 401, saying only that the token is not valid`, async () => {
      const before = storeState();
      const authorization = row.authorization();
      const res = await push(authorization, JSON.stringify(validBody()));
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toEqual(unauthenticated);
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
      const line = log.records().filter((r) => r.msg === `token push refused: ${row.reason}`).at(-1);
      expect(line, `a log line with reason ${row.reason}`).toMatchObject({ reason: row.reason, claims_verified: false });
      const signature = authorization?.split(".")[2];
      if (signature !== undefined && signature.length > 8) expect(log.text()).not.toContain(signature);
      expect(storeState()).toEqual(before);
    });
  }
});

describe("bad-input corpus: bodies of the token push", () => {
  for (const row of bodyRows) {
    (row.finding === undefined ? it : it.fails)(`answers ${row.name} with ${row.status}, quoting none of it`, async () => {
      const before = storeState();
      const payload = typeof row.body === "string" ? row.body : JSON.stringify(row.body);
      const res = await push(`Bearer ${mint()}`, payload, row.contentType);
      expect(res.status).toBe(row.status);
      const { message } = JSON.parse(res.body) as { message: string };
      if (typeof row.message === "string") expect(message).toBe(row.message);
      else expect(message).toMatch(row.message);
      expect(res.body).not.toContain(MARKER);
      expect(res.body.toLowerCase()).not.toContain(MARKER.toLowerCase());
      expect(log.text()).not.toContain(`AABB${MARKER}`);
      expect(storeState()).toEqual(before);
    });
  }
});
