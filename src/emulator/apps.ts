// GitHub Apps: app keys, installations, RS256 app JWTs, installation access tokens and the app routes.
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { compactVerify, decodeJwt, decodeProtectedHeader } from "jose";
import { HttpError } from "./http-io.js";
import type { Reply } from "./http-io.js";
import { param } from "./routes.js";
import type { Route, RouteContext } from "./routes.js";
import { randomToken } from "./state.js";
import type { AppRecord, EmulatorState, InstallationRecord, InstallationToken } from "./state.js";
import type { AppGrant, AppInfo } from "./types.js";

type Permissions = Record<string, "read" | "write">;

/** What runnerd needs: repository runners (administration), organisation runners, and workflow runs and jobs (actions). */
export const DEFAULT_APP_PERMISSIONS: Permissions = {
  actions: "read",
  administration: "write",
  organization_self_hosted_runners: "write",
  metadata: "read",
};

const TOKEN_LIFETIME_MS = 3600_000;
/** GitHub's limits on an app JWT: at most 10 minutes long, `iat` at most a minute ahead (clock drift). */
const MAX_JWT_LIFETIME_S = 600;
const IAT_SKEW_S = 60;

// GitHub's own messages; @octokit/auth-app matches the claim ones to correct for clock skew.
export const JWT_UNDECODABLE = "A JSON web token could not be decoded";
const EXP_INVALID = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future";
const IAT_INVALID = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

export function createApp(state: EmulatorState, opts: { slug?: string; owner?: string; permissions?: Permissions } = {}): AppGrant {
  const id = state.nextAppId++;
  // PKCS#1, as the .pem GitHub lets you download; @octokit/auth-app converts it itself.
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const app: AppRecord = {
    id,
    slug: opts.slug ?? `emulated-app-${id}`,
    clientId: `Iv23li${randomToken("", 7).toLowerCase()}`,
    owner: opts.owner ?? "app-owner",
    publicKey: createPublicKey(privateKey),
    privateKeyPem: privateKey,
    permissions: { ...(opts.permissions ?? DEFAULT_APP_PERMISSIONS) },
    createdAt: wholeSeconds(state.now()),
  };
  state.apps.set(id, app);
  return { id, slug: app.slug, clientId: app.clientId, privateKeyPem: privateKey };
}

export function installApp(state: EmulatorState, appId: number, account: string, type: InstallationRecord["accountType"] = "Organization"): { id: number } {
  if (!state.apps.has(appId)) throw new Error(`no app ${appId}`);
  if (findInstallation(state, appId, account) !== undefined) throw new Error(`app ${appId} is already installed on ${account}`);
  const installation: InstallationRecord = { id: state.nextInstallationId++, appId, account, accountType: type, createdAt: wholeSeconds(state.now()) };
  state.installations.set(installation.id, installation);
  return { id: installation.id };
}

export function findInstallation(state: EmulatorState, appId: number, account: string): InstallationRecord | undefined {
  const key = account.toLowerCase();
  for (const inst of state.installations.values()) if (inst.appId === appId && inst.account.toLowerCase() === key) return inst;
  return undefined;
}

export function appInfo(state: EmulatorState, app: AppRecord): AppInfo {
  const installations = [...state.installations.values()].filter((i) => i.appId === app.id);
  return {
    id: app.id, slug: app.slug, clientId: app.clientId,
    installations: installations.map((i) => ({ id: i.id, account: i.account, type: i.accountType })),
    tokensIssued: installationTokensIssued(state, app.id),
  };
}

export function installationTokensIssued(state: EmulatorState, appId?: number): number {
  let count = 0;
  for (const token of state.installationTokens.values()) {
    if (appId === undefined || state.installations.get(token.installationId)?.appId === appId) count++;
  }
  return count;
}

export function expireInstallationTokens(state: EmulatorState, appId?: number): void {
  const past = state.now() - 1000;
  for (const token of state.installationTokens.values()) {
    if (appId === undefined || state.installations.get(token.installationId)?.appId === appId) token.expiresAt = past;
  }
}

/** `iss` is the app id (number or string) or its client id, as GitHub accepts. */
function appByIssuer(state: EmulatorState, iss: unknown): AppRecord | undefined {
  if (typeof iss !== "string" && typeof iss !== "number") return undefined;
  for (const app of state.apps.values()) if (String(iss) === String(app.id) || iss === app.clientId) return app;
  return undefined;
}

/** Checks an app JWT like GitHub: RS256 signed by the app's key, with sane `iat` and `exp`. */
export async function verifyAppJwt(state: EmulatorState, jwt: string): Promise<AppRecord> {
  let claims: Record<string, unknown>;
  try {
    if (decodeProtectedHeader(jwt).alg !== "RS256") throw new Error("alg");
    claims = decodeJwt(jwt);
  } catch {
    throw new HttpError(401, JWT_UNDECODABLE);
  }
  // A valid signature from an unknown or mismatched app id also "could not be decoded" on GitHub.
  const app = appByIssuer(state, claims.iss);
  if (app === undefined) throw new HttpError(401, JWT_UNDECODABLE);
  try {
    await compactVerify(jwt, app.publicKey, { algorithms: ["RS256"] });
  } catch {
    throw new HttpError(401, JWT_UNDECODABLE);
  }
  const now = Math.floor(state.now() / 1000);
  const { iat, exp } = claims;
  if (typeof iat !== "number" || !Number.isInteger(iat) || iat > now + IAT_SKEW_S) throw new HttpError(401, IAT_INVALID);
  if (typeof exp !== "number" || exp <= now) throw new HttpError(401, EXP_INVALID);
  if (exp - iat > MAX_JWT_LIFETIME_S) throw new HttpError(401, EXP_TOO_FAR);
  return app;
}

function requireApp(ctx: RouteContext): AppRecord {
  // The server lets only verified app JWTs reach `auth: "app"` routes; this narrows the type.
  if (ctx.credential.kind !== "app-jwt") throw new HttpError(401, JWT_UNDECODABLE);
  return ctx.credential.app;
}

function mintInstallationToken(ctx: RouteContext, app: AppRecord, installation: InstallationRecord): Reply {
  const body = (ctx.body ?? {}) as { permissions?: Record<string, string>; repositories?: unknown; repository_ids?: unknown };
  if (body.repositories !== undefined || body.repository_ids !== undefined) {
    throw new HttpError(422, "The emulator only issues tokens for all of an installation's repositories (no repositories or repository_ids)");
  }
  let permissions: Permissions = { ...app.permissions };
  if (body.permissions !== undefined) {
    // A token may narrow the app's permissions, never widen them.
    for (const [name, level] of Object.entries(body.permissions)) {
      const granted = app.permissions[name];
      if (granted === undefined || (level === "write" && granted !== "write")) {
        throw new HttpError(422, "The permissions requested are not granted to this installation.");
      }
    }
    permissions = body.permissions as Permissions;
  }
  const token: InstallationToken = {
    token: randomToken("ghs_", 18),
    installationId: installation.id,
    permissions,
    expiresAt: wholeSeconds(ctx.state.now()) + TOKEN_LIFETIME_MS,
  };
  ctx.state.installationTokens.set(token.token, token);
  return {
    status: 201,
    body: { token: token.token, expires_at: isoSeconds(token.expiresAt), permissions, repository_selection: "all" },
  };
}

function appOwner(ctx: RouteContext, login: string, type: "Organization" | "User"): Record<string, unknown> {
  return simpleUser(ctx.origin, accountId(ctx.state, login), login, type);
}

/** GitHub's `simple-user` for an account; ids are stable per login within one emulator. */
export function simpleUser(origin: string, id: number, login: string, type: string): Record<string, unknown> {
  const api = `${origin}/api/v3/users/${login}`;
  return {
    login, id, node_id: Buffer.from(`04:${type}${id}`).toString("base64"),
    avatar_url: `${origin}/avatars/${login}`, gravatar_id: "",
    url: api, html_url: `${origin}/${login}`,
    followers_url: `${api}/followers`, following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`, starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`, organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`, events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`, type, site_admin: false,
  };
}

export function accountId(state: EmulatorState, login: string): number {
  const key = login.toLowerCase();
  let id = state.accountIds.get(key);
  if (id === undefined) {
    id = 7_000_000 + state.accountIds.size + 1;
    state.accountIds.set(key, id);
  }
  return id;
}

/** components/schemas/integration */
function toApiApp(ctx: RouteContext, app: AppRecord): Record<string, unknown> {
  return {
    id: app.id, slug: app.slug, client_id: app.clientId,
    node_id: Buffer.from(`03:Integration${app.id}`).toString("base64"),
    owner: appOwner(ctx, app.owner, "User"),
    name: app.slug, description: null,
    external_url: `${ctx.origin}/apps/${app.slug}`, html_url: `${ctx.origin}/apps/${app.slug}`,
    created_at: isoSeconds(app.createdAt), updated_at: isoSeconds(app.createdAt),
    permissions: { ...app.permissions }, events: [],
    installations_count: [...ctx.state.installations.values()].filter((i) => i.appId === app.id).length,
  };
}

/** components/schemas/installation */
function toApiInstallation(ctx: RouteContext, app: AppRecord, inst: InstallationRecord): Record<string, unknown> {
  const account = appOwner(ctx, inst.account, inst.accountType);
  const api = `${ctx.origin}/api/v3`;
  return {
    id: inst.id, account, repository_selection: "all",
    access_tokens_url: `${api}/app/installations/${inst.id}/access_tokens`,
    repositories_url: `${api}/installation/repositories`,
    html_url: inst.accountType === "Organization"
      ? `${ctx.origin}/organizations/${inst.account}/settings/installations/${inst.id}`
      : `${ctx.origin}/settings/installations/${inst.id}`,
    app_id: app.id, client_id: app.clientId, app_slug: app.slug,
    target_id: account.id, target_type: inst.accountType,
    permissions: { ...app.permissions }, events: [],
    created_at: isoSeconds(inst.createdAt), updated_at: isoSeconds(inst.createdAt),
    single_file_name: null, has_multiple_single_files: false, single_file_paths: [],
    suspended_by: null, suspended_at: null,
  };
}

function installationOf(ctx: RouteContext, account: string, orgOnly = false): Reply {
  const app = requireApp(ctx);
  const inst = findInstallation(ctx.state, app.id, account);
  if (inst === undefined || (orgOnly && inst.accountType !== "Organization")) throw new HttpError(404, "Not Found");
  return { status: 200, body: toApiInstallation(ctx, app, inst) };
}

function installationById(ctx: RouteContext): [AppRecord, InstallationRecord] {
  const app = requireApp(ctx);
  const inst = ctx.state.installations.get(Number(param(ctx, 0)));
  if (inst === undefined || inst.appId !== app.id) throw new HttpError(404, "Not Found");
  return [app, inst];
}

function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** GitHub's timestamps: ISO 8601 without a fraction. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function route(method: string, path: string, operationId: string, handle: Route["handle"]): Route {
  return { method, pattern: new RegExp(`^${path}$`), operationId, auth: "app", body: "json", handle };
}

export const appRoutes: readonly Route[] = [
  route("GET", "/app", "apps/get-authenticated", (ctx) => ({ status: 200, body: toApiApp(ctx, requireApp(ctx)) })),
  route("GET", "/app/installations/(\\d+)", "apps/get-installation", (ctx) => {
    const [app, inst] = installationById(ctx);
    return { status: 200, body: toApiInstallation(ctx, app, inst) };
  }),
  route("POST", "/app/installations/(\\d+)/access_tokens", "apps/create-installation-access-token", (ctx) => {
    const [app, inst] = installationById(ctx);
    return mintInstallationToken(ctx, app, inst);
  }),
  route("GET", "/repos/([^/]+)/([^/]+)/installation", "apps/get-repo-installation", (ctx) => installationOf(ctx, param(ctx, 0))),
  route("GET", "/orgs/([^/]+)/installation", "apps/get-org-installation", (ctx) => installationOf(ctx, param(ctx, 0), true)),
  route("GET", "/users/([^/]+)/installation", "apps/get-user-installation", (ctx) => installationOf(ctx, param(ctx, 0))),
];
