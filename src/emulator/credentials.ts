// REST credentials: PATs (optionally expiring), installation tokens scoped to one account, app JWTs.
import type { IncomingMessage } from "node:http";
import { JWT_UNDECODABLE, verifyAppJwt } from "./apps.js";
import { HttpError, bearerToken } from "./http-io.js";
import type { Route } from "./routes.js";
import type { Credential, EmulatorState } from "./state.js";
import type { ApiCredentialKind } from "./types.js";

export type { Credential } from "./state.js";

export const NO_CREDENTIAL: Credential = { kind: "none" };

const NOT_ACCESSIBLE = "Resource not accessible by integration";

/** Three base64url parts starting with `{"` encoded: a JWT, which GitHub reads as app authentication. */
function looksLikeJwt(value: string): boolean {
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(value);
}

/** The credential a request presents, classified without verifying it (for the call log and faults). */
export function credentialKind(state: EmulatorState, req: IncomingMessage): ApiCredentialKind {
  if (req.headers.authorization === undefined) return "none";
  const value = bearerToken(req, ["bearer", "token"]) ?? "";
  if (looksLikeJwt(value)) return "app-jwt";
  return state.installationTokens.has(value) ? "installation" : "pat";
}

/** Resolves and verifies the `Authorization` header; 401 with GitHub's messages when it is bad. */
export async function authenticate(state: EmulatorState, req: IncomingMessage): Promise<Credential> {
  if (req.headers.authorization === undefined) return NO_CREDENTIAL;
  const value = bearerToken(req, ["bearer", "token"]);
  if (value === null) throw new HttpError(401, "Bad credentials");
  if (looksLikeJwt(value)) return { kind: "app-jwt", app: await verifyAppJwt(state, value) };
  if (state.pats.has(value)) {
    const expiresAt = state.patExpiry.get(value) ?? null;
    if (expiresAt !== null && expiresAt <= state.now()) throw new HttpError(401, "Bad credentials");
    return { kind: "pat", token: value, expiresAt };
  }
  const token = state.installationTokens.get(value);
  const installation = token === undefined ? undefined : state.installations.get(token.installationId);
  if (token === undefined || installation === undefined || token.expiresAt <= state.now()) throw new HttpError(401, "Bad credentials");
  return { kind: "installation", token, installation };
}

/**
 * Whether `credential` may call `route` at `path`: app routes want an app JWT, the rest a token;
 * an installation token reaches only its account and the permission the endpoint needs.
 */
export function authorize(route: Route, credential: Credential, path: string, method: string): void {
  if (route.auth === "none") return;
  if (route.auth === "app") {
    if (credential.kind === "none") throw new HttpError(401, "Requires authentication");
    if (credential.kind !== "app-jwt") throw new HttpError(401, JWT_UNDECODABLE);
    return;
  }
  // An app JWT only authenticates the app's own endpoints.
  if (credential.kind === "app-jwt") throw new HttpError(401, JWT_UNDECODABLE);
  if (route.auth === "public") return;
  if (credential.kind === "none") throw new HttpError(401, "Requires authentication");
  if (credential.kind !== "installation") return;
  const account = accountOfPath(path);
  if (account !== null && account.toLowerCase() !== credential.installation.account.toLowerCase()) throw new HttpError(403, NOT_ACCESSIBLE);
  const needed = requiredPermission(path, method);
  if (needed !== null) {
    const granted = credential.token.permissions[needed[0]];
    if (granted === undefined || (needed[1] === "write" && granted !== "write")) throw new HttpError(403, NOT_ACCESSIBLE);
  }
}

/** The owner or org a REST path is about, or null for account-less paths like `/rate_limit`. */
function accountOfPath(path: string): string | null {
  const match = /^\/(?:repos|orgs|users)\/([^/]+)/.exec(path);
  return match?.[1] === undefined ? null : decodeURIComponent(match[1]);
}

/** GitHub's fine-grained permission behind the runner and workflow-run endpoints runnerd calls. */
function requiredPermission(path: string, method: string): [string, "read" | "write"] | null {
  const level = method === "GET" || method === "HEAD" ? "read" : "write";
  if (/^\/repos\/[^/]+\/[^/]+\/actions\/runners(?:\/|$)/.test(path)) return ["administration", level];
  if (/^\/orgs\/[^/]+\/actions\/runner(?:s|-groups)(?:\/|$)/.test(path)) return ["organization_self_hosted_runners", level];
  if (/^\/repos\/[^/]+\/[^/]+\/actions\/(?:runs|jobs)(?:\/|$)/.test(path)) return ["actions", level];
  return null;
}

/** Headers GitHub adds for a credential: the expiry of a PAT that has one. */
export function credentialHeaders(credential: Credential): Record<string, string> {
  if (credential.kind !== "pat" || credential.expiresAt === null) return {};
  return { "github-authentication-token-expiration": new Date(credential.expiresAt).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC") };
}
