import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGitHubEmulator, type GitHubEmulator } from "./index.js";

let emu: GitHubEmulator;
beforeAll(async () => {
  emu = await startGitHubEmulator({ validate: false });
});
afterAll(async () => {
  await emu.close();
});

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe("the emulator's Actions OIDC issuer", () => {
  it("serves discovery and a JWKS under /_services/token, counting fetches", async () => {
    expect(emu.oidc.issuer).toBe(`${emu.url}/_services/token`);
    const before = { ...emu.oidc.fetches };
    const doc = await getJson(`${emu.oidc.issuer}/.well-known/openid-configuration`);
    expect(doc).toMatchObject({ issuer: emu.oidc.issuer, jwks_uri: `${emu.oidc.issuer}/.well-known/jwks`, id_token_signing_alg_values_supported: ["RS256"] });
    const jwks = await getJson(String(doc.jwks_uri));
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: "RSA", alg: "RS256", use: "sig", kid: emu.oidc.kid, e: "AQAB" })]);
    expect(emu.oidc.fetches).toEqual({ discovery: before.discovery + 1, jwks: before.jwks + 1 });
  });

  it("mints RS256 tokens shaped like GitHub's that verify against its JWKS", async () => {
    const token = emu.oidc.mint({ repository: "Octo/App", ref: "refs/heads/dev" }, { audience: "runnerd" });
    expect(decodeProtectedHeader(token)).toEqual({ typ: "JWT", alg: "RS256", kid: emu.oidc.kid });
    const jwks = createLocalJWKSet((await getJson(`${emu.oidc.issuer}/.well-known/jwks`)) as never);
    const { payload } = await jwtVerify(token, jwks, { issuer: emu.oidc.issuer, audience: "runnerd", algorithms: ["RS256"] });
    expect(payload).toMatchObject({
      sub: "repo:Octo/App:ref:refs/heads/dev",
      repository: "Octo/App",
      repository_owner: "Octo",
      workflow_ref: "Octo/App/.github/workflows/runner-token.yml@refs/heads/dev",
      job_workflow_ref: "Octo/App/.github/workflows/runner-token.yml@refs/heads/dev",
      ref_type: "branch",
      event_name: "schedule",
      runner_environment: "github-hosted",
    });
    expect(typeof payload.jti).toBe("string");
    expect(payload.exp).toBe((payload.iat ?? 0) + 300);
    expect(payload.nbf).toBe((payload.iat ?? 0) - 600);
  });

  it("drops the old key from the JWKS on rotation and can sign with keys it never publishes", async () => {
    const old = emu.oidc.kid;
    const kid = emu.oidc.rotateKey();
    expect(kid).not.toBe(old);
    const jwks = await getJson(`${emu.oidc.issuer}/.well-known/jwks`);
    expect((jwks.keys as { kid: string }[]).map((k) => k.kid)).toEqual([kid]);
    expect(decodeProtectedHeader(emu.oidc.mint({}, { kid: old })).kid).toBe(old);
    expect(decodeProtectedHeader(emu.oidc.mint({}, { kid: "rogue" })).kid).toBe("rogue");
    expect(emu.oidc.publicKeyPem()).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });
});
