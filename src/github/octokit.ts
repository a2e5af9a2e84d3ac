// One Octokit per credential, with GitHub's retry and throttling plugins, a request timeout, and
// every HTTP exchange (retries and app token requests included) counted by the tracker.
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import type { Logger } from "pino";
import type { RateLimitTracker } from "./rate-limits.js";

export const RunnerdOctokit = Octokit.plugin(retry, throttling);
export type GitHubOctokit = InstanceType<typeof RunnerdOctokit>;

export interface OctokitSettings {
  apiUrl: string;
  logger: Logger;
  tracker: RateLimitTracker;
  /** Abort one HTTP exchange after this long. */
  timeoutMs?: number;
  /** Wait out a rate limit only when it lifts within this many seconds; otherwise fail (the pool backs off). */
  maxRateLimitWaitSeconds?: number;
}

export const USER_AGENT = "runnerd/0.1";

/** How Octokit's log reports a runner deletion GitHub answered 404 or 422. */
const expectedRefusal = /^DELETE \S*\/actions\/runners\/\d+ - (404|422) /;

/** `POST /repos/{}/{}/actions/runners/{}`: the route without names and ids, for counting. */
export function routeOf(method: string, url: string, apiUrl: string): string {
  const path = new URL(url).pathname.slice(new URL(apiUrl).pathname.replace(/\/$/, "").length) || "/";
  const template = path
    .replace(/^\/(repos)\/[^/]+\/[^/]+/, "/$1/{owner}/{repo}")
    .replace(/^\/(orgs)\/[^/]+/, "/$1/{org}")
    .replace(/\/\d+(?=\/|$)/g, "/{id}");
  return `${method.toUpperCase()} ${template}`;
}

export function createOctokit(settings: OctokitSettings, credential: string, auth: Record<string, unknown>): GitHubOctokit {
  const { logger, tracker, apiUrl } = settings;
  const timeoutMs = settings.timeoutMs ?? 30_000;
  const maxWait = settings.maxRateLimitWaitSeconds ?? 60;
  const countingFetch: typeof fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? "GET";
    const signals = [AbortSignal.timeout(timeoutMs), ...(init?.signal ? [init.signal] : [])];
    const route = routeOf(method, url, apiUrl);
    // JWT calls of an app go to /app/...; everything else uses this Octokit's own credential.
    const label = route.includes(" /app") ? "app" : credential;
    try {
      const response = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
      tracker.record(label, route, response.status, Object.fromEntries(response.headers));
      return response;
    } catch (err) {
      tracker.record(label, route, 0, undefined);
      throw err;
    }
  };
  const onLimit = (kind: string) => (retryAfter: number, options: { method?: string; url?: string }, _octokit: unknown, retryCount: number) => {
    const retrying = retryCount < 1 && retryAfter <= maxWait;
    logger.warn({ credential, kind, retryAfterSeconds: retryAfter, request: `${options.method ?? ""} ${options.url ?? ""}`, retrying }, `GitHub ${kind} rate limit hit`);
    return retrying;
  };
  return new RunnerdOctokit({
    ...auth,
    baseUrl: apiUrl,
    userAgent: USER_AGENT,
    request: { fetch: countingFetch },
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: (message: string) => logger.warn({ credential }, `octokit: ${message}`),
      // A runner's DELETE answering 404 (gone) or 422 (it has a job) is an answer the caller
      // expects and acts on (connection-client.ts deleteRegistration), not an error.
      error: (message: string) => (expectedRefusal.test(message) ? logger.debug : logger.error).call(logger, { credential }, `octokit: ${message}`),
    },
    throttle: { onRateLimit: onLimit("primary"), onSecondaryRateLimit: onLimit("secondary") },
    retry: { retries: 2 },
  });
}
