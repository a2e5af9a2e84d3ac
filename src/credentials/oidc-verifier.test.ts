import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGitHubEmulator, type GitHubEmulator } from "../emulator/index.js";
import { OidcVerificationError, type OidcFailureKind } from "./oidc-errors.js";
import { createOidcVerifier, type OidcVerifierOptions } from "./oidc-verifier.js";

const audience = "runnerd-test";
let emu: GitHubEmulator;

beforeAll(async () => {
  emu = await startGitHubEmulator({ validate: false });
});
afterAll(async () => {
  await emu.close();
});

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const verifier = (opts: Partial<OidcVerifierOptions> = {}) => createOidcVerifier({ issuer: emu.oidc.issuer, audience, ...opts });

async function failure(promise: Promise<unknown>): Promise<OidcFailureKind> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OidcVerificationError);
  return (err as OidcVerificationError).kind;
}

describe("createOidcVerifier against the emulator's issuer", () => {
  it("accepts a token of the issuer and returns its claims", async () => {
    const claims = await verifier().verify(emu.oidc.mint({ repository: "Octo-Org/Runner-Tokens" }, { audience }));
    expect(claims).toMatchObject({ iss: emu.oidc.issuer, aud: audience, repository: "Octo-Org/Runner-Tokens", repository_owner: "Octo-Org", ref: "refs/heads/main" });
  });

  it("refuses alg none and HS256 keyed with the issuer's public key, before fetching any key", async () => {
    const v = verifier();
    const payload = b64url(emu.oidc.claims({}, { audience }));
    const none = `${b64url({ alg: "none", typ: "JWT" })}.${payload}.`;
    expect(await failure(v.verify(none))).toBe("algorithm");
    const header = b64url({ alg: "HS256", typ: "JWT", kid: emu.oidc.kid });
    const mac = createHmac("sha256", emu.oidc.publicKeyPem()).update(`${header}.${payload}`).digest("base64url");
    expect(await failure(v.verify(`${header}.${payload}.${mac}`))).toBe("algorithm");
  });

  it.each<[string, () => string, OidcFailureKind]>([
    ["an expired token", () => emu.oidc.mint({}, { audience, issuedAt: new Date(Date.now() - 120_000), expiresInSeconds: 60 }), "expired"],
    ["a token not valid yet", () => emu.oidc.mint({}, { audience, notBeforeSeconds: 120 }), "not-yet-valid"],
    ["a token issued in the future", () => emu.oidc.mint({}, { audience, issuedAt: new Date(Date.now() + 120_000), notBeforeSeconds: -600 }), "not-yet-valid"],
    ["a token older than the maximum age", () => emu.oidc.mint({}, { audience, issuedAt: new Date(Date.now() - 20 * 60_000), expiresInSeconds: 3600 }), "too-old"],
    ["another issuer", () => emu.oidc.mint({}, { audience, issuer: "https://token.actions.githubusercontent.com" }), "issuer"],
    ["another audience", () => emu.oidc.mint({}, { audience: "someone-else" }), "audience"],
    ["several audiences", () => emu.oidc.mint({ aud: [audience, "other"] as unknown as string }), "audience"],
    ["a token without repository", () => emu.oidc.mint({ repository: undefined }, { audience }), "missing-claim"],
    ["a token without jti", () => emu.oidc.mint({ jti: undefined }, { audience }), "missing-claim"],
    ["a numeric repository_owner", () => emu.oidc.mint({ repository_owner: 65 as unknown as string }, { audience }), "invalid-claim"],
    ["an owner that is not the repository's", () => emu.oidc.mint({ repository: "octo-org/app", repository_owner: "evil" }, { audience }), "invalid-claim"],
    ["a key the key set does not list", () => emu.oidc.mint({}, { audience, kid: "rogue-key" }), "unknown-key"],
    ["a tampered payload", () => {
      const [h, , s] = emu.oidc.mint({}, { audience }).split(".");
      return `${h}.${b64url(emu.oidc.claims({ repository: "octo-org/other" }, { audience }))}.${s}`;
    }, "bad-signature"],
    ["garbage", () => "not-a-jwt", "malformed"],
    ["a JWT whose header is not JSON", () => `${Buffer.from("nope").toString("base64url")}.${b64url(emu.oidc.claims({}, { audience }))}.AAAA`, "malformed"],
  ])("refuses %s", async (_name, token, kind) => {
    expect(await failure(verifier().verify(token()))).toBe(kind);
  });

  it("allows 30 s of clock skew on exp and nbf", async () => {
    const v = verifier();
    await expect(v.verify(emu.oidc.mint({}, { audience, issuedAt: new Date(Date.now() - 80_000), expiresInSeconds: 60 }))).resolves.toBeTruthy();
    await expect(v.verify(emu.oidc.mint({}, { audience, notBeforeSeconds: 20 }))).resolves.toBeTruthy();
  });

  it("refuses a token id it has seen, shared across verifiers of one replay cache", async () => {
    const v = verifier();
    const token = emu.oidc.mint({}, { audience });
    await v.verify(token);
    expect(await failure(v.verify(token))).toBe("replayed");
    // A different token with the same id is a replay too.
    const jti = emu.oidc.claims().jti;
    await v.verify(emu.oidc.mint({ jti }, { audience }));
    expect(await failure(v.verify(emu.oidc.mint({ jti }, { audience })))).toBe("replayed");
  });

  it("caches discovery and keys; unknown key ids do not refetch within the cooldown", async () => {
    // Minted first: making a key takes long enough to eat into the cooldown.
    const forged = Array.from({ length: 5 }, (_, i) => emu.oidc.mint({}, { audience, kid: `forged-${i}` }));
    const v = verifier({ jwksCooldownMs: 5000 });
    await v.verify(emu.oidc.mint({}, { audience }));
    const before = { ...emu.oidc.fetches };
    await v.verify(emu.oidc.mint({}, { audience }));
    for (const token of forged) expect(await failure(v.verify(token))).toBe("unknown-key");
    expect(emu.oidc.fetches).toEqual(before);
  });

  it("accepts a rotated key once the cooldown has passed, refetching the key set once", async () => {
    const v = verifier({ jwksCooldownMs: 200 });
    await v.verify(emu.oidc.mint({}, { audience }));
    const before = { ...emu.oidc.fetches };
    emu.oidc.rotateKey();
    await new Promise((resolve) => setTimeout(resolve, 250));
    await expect(v.verify(emu.oidc.mint({}, { audience }))).resolves.toMatchObject({ iss: emu.oidc.issuer });
    await expect(v.verify(emu.oidc.mint({}, { audience }))).resolves.toMatchObject({ iss: emu.oidc.issuer });
    expect(emu.oidc.fetches).toEqual({ discovery: before.discovery, jwks: before.jwks + 1 });
  });

  it("answers issuer-unreachable for a dead issuer and does not retry it at once", async () => {
    let calls = 0;
    const countingFetch: typeof fetch = (input, init) => {
      calls += 1;
      return fetch(input, init);
    };
    const dead = createOidcVerifier({ issuer: "http://127.0.0.1:9/_services/token", audience, fetch: countingFetch, fetchTimeoutMs: 2000 });
    const token = emu.oidc.mint({}, { audience, issuer: "http://127.0.0.1:9/_services/token" });
    expect(await failure(dead.verify(token))).toBe("issuer-unreachable");
    expect(await failure(dead.verify(token))).toBe("issuer-unreachable");
    expect(calls).toBe(1);
  });

  it("refuses a discovery document naming another issuer", async () => {
    const issuer = emu.oidc.issuer.replace("127.0.0.1", "localhost");
    const v = createOidcVerifier({ issuer, audience });
    expect(await failure(v.verify(emu.oidc.mint({}, { audience, issuer })))).toBe("issuer-invalid");
  });
});
