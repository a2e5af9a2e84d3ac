// GitHub App auth, installation tokens, rate limits, the call log, PAT expiry and single-use JIT configs.
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { createAppAuth } from "@octokit/auth-app";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import { SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubEmulator } from "./index.js";
import type { AppGrant, GitHubEmulator } from "./index.js";

let emu: GitHubEmulator;

beforeEach(async () => {
  emu = await startGitHubEmulator({ longPollMs: 1000 });
});
afterEach(async () => {
  expect(emu.violations).toEqual([]);
  await emu.close();
});

function call(path: string, auth: string | null, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = auth === null ? {} : { authorization: auth };
  return fetch(`${emu.apiUrl}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
}

/** An app JWT signed by hand, to break one rule at a time. */
async function jwt(app: AppGrant, claims: { iss?: string | number; iat?: number; exp?: number }, opts: { pem?: string; alg?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const alg = opts.alg ?? "RS256";
  const key = alg === "HS256" ? new TextEncoder().encode("a-shared-secret-that-is-long-enough!") : createPrivateKey(opts.pem ?? app.privateKeyPem);
  return new SignJWT({ iss: claims.iss ?? app.id } as Record<string, unknown>)
    .setProtectedHeader({ alg })
    .setIssuedAt(claims.iat ?? now - 30)
    .setExpirationTime(claims.exp ?? now + 540)
    .sign(key);
}

async function message(res: Response): Promise<string> {
  return ((await res.json()) as { message: string }).message;
}

function appOctokit(app: AppGrant, installationId?: number): Octokit {
  return new Octokit({
    baseUrl: emu.apiUrl,
    authStrategy: createAppAuth,
    auth: { appId: app.id, privateKey: app.privateKeyPem, ...(installationId === undefined ? {} : { installationId }) },
  });
}

describe("GitHub Apps", () => {
  it("authenticates as the app and an installation through @octokit/auth-app", async () => {
    const app = emu.createApp({ slug: "runnerd-test" });
    expect(app.privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    const inst = emu.installApp(app.id, "octo");

    const asApp = appOctokit(app);
    const me = await asApp.rest.apps.getAuthenticated();
    expect(me.data).toMatchObject({ id: app.id, slug: "runnerd-test" });
    expect((await asApp.rest.apps.getRepoInstallation({ owner: "Octo", repo: "app" })).data).toMatchObject({ id: inst.id, app_id: app.id, repository_selection: "all" });
    expect((await asApp.rest.apps.getOrgInstallation({ org: "octo" })).data.id).toBe(inst.id);

    const asInstallation = appOctokit(app, inst.id);
    const reg = await asInstallation.rest.actions.createRegistrationTokenForRepo({ owner: "octo", repo: "app" });
    expect(reg.status).toBe(201);
    expect((await asInstallation.rest.actions.listSelfHostedRunnersForOrg({ org: "octo" })).status).toBe(200);
    // auth-app caches the token for its hour: one issued for both calls.
    expect(emu.installationTokensIssued(app.id)).toBe(1);
    expect(emu.apps()).toEqual([{ id: app.id, slug: "runnerd-test", clientId: app.clientId, installations: [{ id: inst.id, account: "octo", type: "Organization" }], tokensIssued: 1 }]);

    const calls = emu.apiCalls().map((c) => `${c.credential} ${c.operationId} ${c.status}`);
    expect(calls).toEqual([
      "app-jwt apps/get-authenticated 200",
      "app-jwt apps/get-repo-installation 200",
      "app-jwt apps/get-org-installation 200",
      "app-jwt apps/create-installation-access-token 201",
      "installation actions/create-registration-token-for-repo 201",
      "installation actions/list-self-hosted-runners-for-org 200",
    ]);
  });

  it("issues a ghs_ token valid for an hour with the app's permissions", async () => {
    const app = emu.createApp();
    const inst = emu.installApp(app.id, "octo");
    const res = await call(`/app/installations/${inst.id}/access_tokens`, `Bearer ${await jwt(app, {})}`, { method: "POST" });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { token: string; expires_at: string; permissions: Record<string, string>; repository_selection: string };
    expect(body.token).toMatch(/^ghs_\w{36}$/);
    expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(3590_000);
    expect(body).toMatchObject({ repository_selection: "all", permissions: { administration: "write", organization_self_hosted_runners: "write" } });
  });

  it("rejects JWTs as GitHub does", async () => {
    const app = emu.createApp();
    const now = Math.floor(Date.now() / 1000);
    const other = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    const cases: Array<[string, Promise<string>, string]> = [
      ["wrong key", jwt(app, {}, { pem: other.privateKey }), "A JSON web token could not be decoded"],
      ["HS256", jwt(app, {}, { alg: "HS256" }), "A JSON web token could not be decoded"],
      ["unknown app", jwt(app, { iss: 999_999 }), "A JSON web token could not be decoded"],
      ["expired", jwt(app, { iat: now - 700, exp: now - 100 }), "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"],
      ["exp too far", jwt(app, { iat: now - 30, exp: now + 3600 }), "'Expiration time' claim ('exp') is too far in the future"],
      ["iat ahead", jwt(app, { iat: now + 300, exp: now + 600 }), "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"],
    ];
    for (const [what, token, expected] of cases) {
      const res = await call("/app", `Bearer ${await token}`);
      expect(res.status, what).toBe(401);
      expect(await message(res), what).toBe(expected);
    }
    // The id as a string, and the client id, are accepted as `iss`.
    expect((await call("/app", `Bearer ${await jwt(app, { iss: String(app.id) })}`)).status).toBe(200);
    expect((await call("/app", `Bearer ${await jwt(app, { iss: app.clientId })}`)).status).toBe(200);
    // Wrong credential for the route, both ways.
    expect(await message(await call("/app", `token ${emu.pat}`))).toBe("A JSON web token could not be decoded");
    const jwtOnRest = await call("/repos/octo/app/actions/runners", `Bearer ${await jwt(app, {})}`);
    expect(jwtOnRest.status).toBe(401);
    expect((await call("/app", null)).status).toBe(401);
  });

  it("finds installations only where this app is installed", async () => {
    const app = emu.createApp();
    const otherApp = emu.createApp();
    const user = emu.installApp(app.id, "mona", { type: "User" });
    const foreign = emu.installApp(otherApp.id, "elsewhere");
    const auth = `Bearer ${await jwt(app, {})}`;
    expect((await call("/repos/mona/dotfiles/installation", auth)).status).toBe(200);
    expect((await call("/users/mona/installation", auth)).status).toBe(200);
    expect((await call("/orgs/mona/installation", auth)).status).toBe(404);
    expect((await call("/repos/elsewhere/app/installation", auth)).status).toBe(404);
    expect((await call("/orgs/nobody/installation", auth)).status).toBe(404);
    expect((await call(`/app/installations/${foreign.id}/access_tokens`, auth, { method: "POST" })).status).toBe(404);
    expect((await call("/app/installations/123456789/access_tokens", auth, { method: "POST" })).status).toBe(404);
    expect((await call(`/app/installations/${user.id}`, auth)).status).toBe(200);
    expect((await call(`/app/installations/${foreign.id}`, auth)).status).toBe(404);
  });

  it("scopes installation tokens to their account and permissions, and expires them", async () => {
    const app = emu.createApp();
    const inst = emu.installApp(app.id, "octo");
    const auth = `Bearer ${await jwt(app, {})}`;
    const mint = async (body?: unknown): Promise<Response> =>
      call(`/app/installations/${inst.id}/access_tokens`, auth, { method: "POST", ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const { token } = (await (await mint()).json()) as { token: string };
    expect((await call("/repos/OCTO/app/actions/runners", `token ${token}`)).status).toBe(200);
    expect((await call("/orgs/octo/actions/runner-groups", `Bearer ${token}`)).status).toBe(200);
    for (const path of ["/repos/other/app/actions/runners", "/orgs/other/actions/runners"]) {
      const denied = await call(path, `token ${token}`);
      expect(denied.status, path).toBe(403);
      expect(await message(denied)).toBe("Resource not accessible by integration");
      expect(denied.headers.get("x-ratelimit-limit")).toBe("5000");
    }
    // Public data (actions/runner releases) is readable with any valid token.
    expect((await call("/repos/actions/runner/releases/latest", `token ${token}`)).status).toBe(200);

    const readOnly = (await (await mint({ permissions: { metadata: "read", administration: "read" } })).json()) as { token: string };
    expect((await call("/repos/octo/app/actions/runners", `token ${readOnly.token}`)).status).toBe(200);
    expect((await call("/repos/octo/app/actions/runners/registration-token", `token ${readOnly.token}`, { method: "POST" })).status).toBe(403);
    expect((await mint({ permissions: { contents: "write" } })).status).toBe(422);
    expect(emu.installationTokensIssued()).toBe(2);

    emu.expireInstallationTokens(app.id);
    const expired = await call("/repos/octo/app/actions/runners", `token ${token}`);
    expect(expired.status).toBe(401);
    expect(await message(expired)).toBe("Bad credentials");
  });
});

describe("rate limits", () => {
  it("sends x-ratelimit-* headers that count down per credential, but not for /rate_limit", async () => {
    const first = await call("/repos/octo/app/actions/runners", `token ${emu.pat}`);
    expect(first.headers.get("x-ratelimit-limit")).toBe("5000");
    expect(first.headers.get("x-ratelimit-remaining")).toBe("4999");
    expect(first.headers.get("x-ratelimit-used")).toBe("1");
    expect(first.headers.get("x-ratelimit-resource")).toBe("core");
    const reset = Number(first.headers.get("x-ratelimit-reset"));
    expect(reset - Date.now() / 1000).toBeGreaterThan(3590);
    const second = await call("/orgs/octo/actions/runners", `token ${emu.pat}`);
    expect(second.headers.get("x-ratelimit-remaining")).toBe("4998");
    expect(Number(second.headers.get("x-ratelimit-reset"))).toBe(reset);

    const overview = await call("/rate_limit", `token ${emu.pat}`);
    expect(overview.headers.get("x-ratelimit-remaining")).toBe("4998");
    const body = (await overview.json()) as { rate: { limit: number; remaining: number; used: number; reset: number }; resources: { core: unknown } };
    expect(body.rate).toMatchObject({ limit: 5000, remaining: 4998, used: 2, reset });
    expect(body.resources.core).toEqual(body.rate);
    expect(emu.rateLimit(emu.pat)).toEqual({ limit: 5000, remaining: 4998, used: 2, reset });

    const anonymous = await call("/rate_limit", null);
    expect(((await anonymous.json()) as { rate: { limit: number } }).rate.limit).toBe(60);
    const release = await call("/repos/actions/runner/releases/latest", null);
    expect(release.headers.get("x-ratelimit-limit")).toBe("60");
    expect(release.headers.get("x-ratelimit-remaining")).toBe("59");
  });

  it("answers 403 with remaining 0 once a window is used up, until it resets", async () => {
    emu.setRateLimit(emu.pat, { remaining: 1 });
    expect((await call("/repos/octo/app/actions/runners", `token ${emu.pat}`)).status).toBe(200);
    const limited = await call("/repos/octo/app/actions/runners", `token ${emu.pat}`);
    expect(limited.status).toBe(403);
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(limited.headers.get("x-ratelimit-used")).toBe("5000");
    expect(await message(limited)).toMatch(/^API rate limit exceeded for /);
    // Another credential has its own window.
    emu.addPat("ghp_second");
    expect((await call("/repos/octo/app/actions/runners", "token ghp_second")).status).toBe(200);
    // /rate_limit still answers.
    expect((await call("/rate_limit", `token ${emu.pat}`)).status).toBe(200);
  });

  it("lets octokit's throttling plugin wait for the reset and retry", async () => {
    emu.setRateLimit(emu.pat, { remaining: 0, resetInSeconds: 1 });
    const waits: number[] = [];
    const Throttled = Octokit.plugin(throttling);
    const octokit = new Throttled({
      baseUrl: emu.apiUrl,
      auth: emu.pat,
      throttle: {
        onRateLimit: (retryAfter: number, _options: unknown, _o: unknown, retryCount: number) => {
          waits.push(retryAfter);
          return retryCount < 1;
        },
        onSecondaryRateLimit: () => false,
      },
    });
    const res = await octokit.rest.actions.listSelfHostedRunnersForRepo({ owner: "octo", repo: "app" });
    expect(res.status).toBe(200);
    expect(waits).toHaveLength(1);
    expect(res.headers["x-ratelimit-remaining"]).toBe("4999");
  }, 15_000);

  it("shares one window between an installation's tokens", async () => {
    const app = emu.createApp();
    const inst = emu.installApp(app.id, "octo");
    const auth = `Bearer ${await jwt(app, {})}`;
    const mint = async (): Promise<string> =>
      ((await (await call(`/app/installations/${inst.id}/access_tokens`, auth, { method: "POST" })).json()) as { token: string }).token;
    const [a, b] = [await mint(), await mint()];
    emu.setRateLimit(`installation:${inst.id}`, { remaining: 10 });
    expect((await call("/orgs/octo/actions/runners", `token ${a}`)).headers.get("x-ratelimit-remaining")).toBe("9");
    expect((await call("/orgs/octo/actions/runners", `token ${b}`)).headers.get("x-ratelimit-remaining")).toBe("8");
    expect(emu.rateLimit(b).remaining).toBe(8);
  });
});

describe("API call log and PAT expiry", () => {
  it("logs REST calls only, normalised, and can be cleared", async () => {
    await call("/repos/octo/app/actions/runners/registration-token", `token ${emu.pat}`, { method: "POST" });
    await fetch(`${emu.url}/orgs/octo/actions/runners?per_page=5`, { headers: { authorization: "token ghp_bad" } });
    await call("/repos/octo/app/nonexistent", null);
    await fetch(`${emu.url}/_runner/sessions`, { method: "POST" });
    await fetch(`${emu.url}/_admin/jobs`);
    emu.failNext({ path: "/rate_limit", status: 502 });
    await call("/rate_limit", null);
    expect(emu.apiCalls().map(({ method, path, operationId, credential, status }) => ({ method, path, operationId, credential, status }))).toEqual([
      { method: "POST", path: "/repos/octo/app/actions/runners/registration-token", operationId: "actions/create-registration-token-for-repo", credential: "pat", status: 201 },
      { method: "GET", path: "/orgs/octo/actions/runners", operationId: "actions/list-self-hosted-runners-for-org", credential: "pat", status: 401 },
      { method: "GET", path: "/repos/octo/app/nonexistent", operationId: "", credential: "none", status: 404 },
      { method: "GET", path: "/rate_limit", operationId: "rate-limit/get", credential: "none", status: 502 },
    ]);
    expect(emu.apiCalls()[0]?.at).toBeGreaterThan(Date.now() - 10_000);
    emu.clearApiCalls();
    expect(emu.apiCalls()).toEqual([]);
  });

  it("announces a PAT's expiry and refuses it afterwards", async () => {
    emu.addPat("ghp_expiring", { expiresAt: new Date("2099-12-31T12:00:00Z") });
    const ok = await call("/rate_limit", "token ghp_expiring");
    expect(ok.headers.get("github-authentication-token-expiration")).toBe("2099-12-31 12:00:00 UTC");
    expect((await call("/rate_limit", `token ${emu.pat}`)).headers.get("github-authentication-token-expiration")).toBeNull();
    emu.addPat("ghp_expired", { expiresAt: new Date(Date.now() - 1000) });
    const expired = await call("/repos/octo/app/actions/runners", "token ghp_expired");
    expect(expired.status).toBe(401);
    expect(await message(expired)).toBe("Bad credentials");
  });
});

describe("JIT configs", () => {
  it("allow one runner session; the runner shows offline until then", async () => {
    const { runner } = emu.mintJitConfig({ repo: "octo/app" }, { name: "jit-once", labels: ["self-hosted"] });
    const listed = (await (await call("/repos/octo/app/actions/runners", `token ${emu.pat}`)).json()) as { runners: Array<{ status: string }> };
    expect(listed.runners[0]?.status).toBe("offline");
    const open = (): Promise<Response> => fetch(`${emu.url}/_runner/sessions`, { method: "POST", headers: { authorization: `Bearer ${runner.credential}` } });
    expect((await open()).status).toBe(200);
    const again = await open();
    expect(again.status).toBe(409);
    expect(await message(again)).toBe("A session for this runner already exists.");
  });
});

describe("admin API", () => {
  it("creates apps and installations and shows the call log", async () => {
    const created = await fetch(`${emu.url}/_admin/apps`, { method: "POST", body: JSON.stringify({ slug: "via-admin" }) });
    expect(created.status).toBe(201);
    const app = (await created.json()) as AppGrant;
    expect(app).toMatchObject({ slug: "via-admin", privateKeyPem: expect.stringContaining("BEGIN RSA PRIVATE KEY") as string });
    const inst = await fetch(`${emu.url}/_admin/apps/${app.id}/installations`, { method: "POST", body: JSON.stringify({ account: "octo" }) });
    expect(inst.status).toBe(201);
    const { id } = (await inst.json()) as { id: number };
    expect((await fetch(`${emu.url}/_admin/apps/${app.id}/installations`, { method: "POST", body: JSON.stringify({ account: "octo" }) })).status).toBe(422);
    const token = await call(`/app/installations/${id}/access_tokens`, `Bearer ${await jwt(app, {})}`, { method: "POST" });
    expect(token.status).toBe(201);
    const calls = (await (await fetch(`${emu.url}/_admin/api-calls`)).json()) as Array<{ operationId: string }>;
    expect(calls.map((c) => c.operationId)).toEqual(["apps/create-installation-access-token"]);
    expect((await fetch(`${emu.url}/_admin/rate-limits`, { method: "POST", body: JSON.stringify({ credential: emu.pat, remaining: 3 }) })).status).toBe(204);
    expect(emu.rateLimit(emu.pat).remaining).toBe(3);
  });
});
