// What status.json says about the app/pat connections' use of GitHub, and the facts credential
// health derives from it (the PAT's expiry, the tightest API budget).
import type { ConnectionFacts } from "../credentials/health.js";
import type { GitHubClients } from "../github/clients.js";
import type { GitHubConnectionReport } from "./state-files.js";

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
