// GitHub's primary ("core") rate limit: hourly windows per credential, x-ratelimit-* headers, /rate_limit.
import type { IncomingMessage } from "node:http";
import type { Credential } from "./credentials.js";
import { HttpError } from "./http-io.js";
import type { Route } from "./routes.js";
import type { EmulatorState, RateBucket } from "./state.js";
import type { RateLimitStatus } from "./types.js";

const WINDOW_S = 3600;
const AUTHENTICATED_LIMIT = 5000;
const UNAUTHENTICATED_LIMIT = 60;
export const RATE_LIMIT_OPERATION = "rate-limit/get";

/** GitHub counts per user (PAT), per installation (not per token), per app, or per IP. */
function bucketKey(credential: Credential): string {
  switch (credential.kind) {
    case "pat": return `pat:${credential.token}`;
    case "installation": return `installation:${credential.installation.id}`;
    case "app-jwt": return `app:${credential.app.id}`;
    case "none": return "unauthenticated";
  }
}

function limitOf(key: string): number {
  return key === "unauthenticated" ? UNAUTHENTICATED_LIMIT : AUTHENTICATED_LIMIT;
}

/** The key's current window; a window that has ended starts over at the full limit. */
function currentBucket(state: EmulatorState, key: string): RateBucket {
  const now = state.now();
  let bucket = state.rateLimits.get(key);
  if (bucket === undefined || bucket.resetAt * 1000 <= now) {
    bucket = { limit: limitOf(key), used: 0, resetAt: Math.floor(now / 1000) + WINDOW_S };
    state.rateLimits.set(key, bucket);
  }
  return bucket;
}

export function rateLimitHeaders(bucket: RateBucket): Record<string, string> {
  return {
    "x-ratelimit-limit": String(bucket.limit),
    "x-ratelimit-remaining": String(Math.max(0, bucket.limit - bucket.used)),
    "x-ratelimit-used": String(bucket.used),
    "x-ratelimit-reset": String(bucket.resetAt),
    "x-ratelimit-resource": "core",
  };
}

/** Headers for a request that failed authentication: the caller counts as unauthenticated. */
export function anonymousHeaders(state: EmulatorState): Record<string, string> {
  return rateLimitHeaders(currentBucket(state, "unauthenticated"));
}

function exceededMessage(credential: Credential, req: IncomingMessage): string {
  switch (credential.kind) {
    case "pat": return "API rate limit exceeded for user ID 1.";
    case "installation": return `API rate limit exceeded for installation ID ${credential.installation.id}.`;
    case "app-jwt": return `API rate limit exceeded for app ID ${credential.app.id}.`;
    case "none": return `API rate limit exceeded for ${req.socket.remoteAddress ?? "127.0.0.1"}. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)`;
  }
}

/**
 * Counts one call (unless `free`) and returns the headers for its answer. With nothing left it
 * throws GitHub's 403 with `x-ratelimit-remaining: 0`, which octokit's throttling plugin waits out.
 */
export function applyRateLimit(state: EmulatorState, credential: Credential, req: IncomingMessage, free: boolean): Record<string, string> {
  const bucket = currentBucket(state, bucketKey(credential));
  if (!free) {
    if (bucket.used >= bucket.limit) throw new HttpError(403, exceededMessage(credential, req), rateLimitHeaders(bucket));
    bucket.used += 1;
  }
  return rateLimitHeaders(bucket);
}

/** A test's name for a bucket: a PAT, an installation token, `installation:<id>`, `app:<id>` or `unauthenticated`. */
function resolveKey(state: EmulatorState, credential: string): string {
  if (credential === "unauthenticated" || /^(?:installation|app):\d+$/.test(credential)) return credential;
  if (state.pats.has(credential)) return `pat:${credential}`;
  const token = state.installationTokens.get(credential);
  if (token !== undefined) return `installation:${token.installationId}`;
  throw new Error(`setRateLimit: unknown credential ${credential.slice(0, 8)}…`);
}

export function setRateLimit(state: EmulatorState, credential: string, opts: { remaining: number; resetInSeconds?: number }): void {
  const bucket = currentBucket(state, resolveKey(state, credential));
  bucket.used = bucket.limit - Math.min(bucket.limit, Math.max(0, Math.floor(opts.remaining)));
  if (opts.resetInSeconds !== undefined) bucket.resetAt = Math.ceil((state.now() + opts.resetInSeconds * 1000) / 1000);
}

export function rateLimitStatus(state: EmulatorState, credential: string): RateLimitStatus {
  const bucket = currentBucket(state, resolveKey(state, credential));
  return { limit: bucket.limit, remaining: bucket.limit - bucket.used, used: bucket.used, reset: bucket.resetAt };
}

/** `GET /rate_limit`: the caller's core window; the other resources are shown unused. */
export const rateLimitRoutes: readonly Route[] = [{
  method: "GET", pattern: /^\/rate_limit$/, operationId: RATE_LIMIT_OPERATION, auth: "public", body: "json",
  handle(ctx) {
    const core = currentBucket(ctx.state, bucketKey(ctx.credential));
    const now = Math.floor(ctx.state.now() / 1000);
    const authenticated = ctx.credential.kind !== "none";
    const fresh = (limit: number, seconds: number): Record<string, unknown> => ({ limit, remaining: limit, reset: now + seconds, used: 0 });
    const coreView = { limit: core.limit, remaining: core.limit - core.used, reset: core.resetAt, used: core.used, resource: "core" };
    return {
      status: 200,
      body: {
        resources: {
          core: coreView,
          search: { ...fresh(authenticated ? 30 : 10, 60), resource: "search" },
          graphql: { ...fresh(authenticated ? 5000 : 0, WINDOW_S), resource: "graphql" },
          actions_runner_registration: { ...fresh(authenticated ? 10000 : 0, WINDOW_S), resource: "actions_runner_registration" },
        },
        rate: coreView,
      },
    };
  },
}];
