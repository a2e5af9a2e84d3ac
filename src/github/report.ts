// What status.json says about the app/pat connections' use of GitHub, and the facts credential
// health derives from it (the PAT's expiry, the tightest API budget).
import type { Config } from "../config/index.js";
import { credentialHealth, type ConnectionFacts, type CredentialHealth, type PushedTokenInfo } from "../credentials/health.js";
import type { GitHubClients } from "./clients.js";
import type { RateLimitSnapshot, RequestCount } from "./rate-limits.js";

/** What the daemon knows of one app/pat connection's use of GitHub's API. */
export interface GitHubConnectionReport {
  connection: string;
  kind: "app" | "pat";
  requests: number;
  /** By route and status (not written to status.json: the metrics endpoint reads them live). */
  requestCounts?: RequestCount[];
  rateLimits: RateLimitSnapshot[];
  credentialExpiresAt?: number;
}

export function githubReports(clients: GitHubClients, withCounts = false): GitHubConnectionReport[] {
  return [...clients].map(([connection, { client }]) => {
    const expiresAt = client.tracker.credentialExpiresAt();
    return {
      connection,
      kind: client.kind,
      requests: client.tracker.total(),
      ...(withCounts ? { requestCounts: client.tracker.requests() } : {}),
      rateLimits: client.tracker.snapshots(),
      ...(expiresAt !== undefined ? { credentialExpiresAt: expiresAt } : {}),
    };
  });
}

/** The facts credential health needs: the PAT's expiry and the tightest API budget. */
export function connectionFacts(reports: readonly GitHubConnectionReport[]): Map<string, ConnectionFacts> {
  const facts = new Map<string, ConnectionFacts>();
  for (const report of reports) {
    const tightest = [...report.rateLimits].sort((a, b) => a.remaining / a.limit - b.remaining / b.limit)[0];
    facts.set(report.connection, {
      ...(report.credentialExpiresAt !== undefined ? { credentialExpiresAt: report.credentialExpiresAt } : {}),
      ...(tightest ? { rateLimit: { remaining: tightest.remaining, limit: tightest.limit, resetAt: tightest.resetAt } } : {}),
    });
  }
  return facts;
}

/**
 * The one credential-health snapshot (status.json, the status page, metrics, `runnerd status`,
 * doctor): pushed tokens plus what the app/pat connections learnt from GitHub.
 */
export function credentialSnapshot(config: Config, tokens: readonly PushedTokenInfo[], reports: readonly GitHubConnectionReport[], now: number): CredentialHealth[] {
  return credentialHealth(config, tokens, connectionFacts(reports), now);
}
