// How each scope's runner credential is doing, for status, doctor and metrics. Push scopes live on
// pushed one-hour tokens: the expiry matters, and so does a late push, since GitHub may start
// scheduled workflows late or skip them. App and pat scopes mint JIT configs: the PAT's announced
// expiry and the rate limit matter instead.
import { scopeKey, type Config } from "../config/index.js";

export interface CredentialHealth {
  scope: string;
  connection: string;
  mode: "push" | "app" | "pat";
  level: "ok" | "warn" | "error";
  message: string;
  /** Push: the token's expiry; pat: the PAT's, when GitHub announced one (ms since the epoch). */
  expiresAt?: number;
  /** Push: when the last token arrived, and from where. */
  lastPushAt?: number;
  source?: string;
}

export interface PushedTokenInfo {
  scope: string;
  expiresAt: Date;
  updatedAt: Date;
  source: string;
}

/** What the daemon learnt from GitHub per app/pat connection. */
export interface ConnectionFacts {
  credentialExpiresAt?: number;
  /** Lowest remaining budget across the connection's credentials, with its limit. */
  rateLimit?: { remaining: number; limit: number; resetAt: number };
}

const patWarnMs = 7 * 24 * 3_600_000;

export function credentialHealth(config: Config, tokens: readonly PushedTokenInfo[], facts: ReadonlyMap<string, ConnectionFacts>, now: number): CredentialHealth[] {
  const byScope = new Map(tokens.map((t) => [t.scope, t]));
  const seen = new Set<string>();
  const result: CredentialHealth[] = [];
  for (const pool of config.pools) {
    const scope = scopeKey(pool.scope.type === "repo" ? { type: "repo", repo: pool.scope.repo } : { type: "org", org: pool.scope.org });
    const key = `${pool.connection}|${scope}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const connection = config.github[pool.connection];
    if (!connection) continue;
    const auth = connection.auth;
    if (auth.type === "push") result.push(pushHealth(scope, connection.name, byScope.get(scope), config.token_min_validity, auth.late_after, now));
    else result.push(jitHealth(scope, connection.name, auth.type, facts.get(connection.name), now));
  }
  return result;
}

function pushHealth(scope: string, connection: string, token: PushedTokenInfo | undefined, minValidityMs: number, lateAfterMs: number, now: number): CredentialHealth {
  const base = { scope, connection, mode: "push" as const };
  if (!token) return { ...base, level: "error", message: `no registration token pushed yet: run the renewal workflow (runnerd workflow print --scope ${scope})` };
  const expiresAt = token.expiresAt.getTime();
  const pushedAgo = now - token.updatedAt.getTime();
  const known = { ...base, expiresAt, lastPushAt: token.updatedAt.getTime(), source: token.source };
  if (expiresAt <= now) return { ...known, level: "error", message: `token expired ${minutes(now - expiresAt)} ago; last push ${minutes(pushedAgo)} ago: no runners start until a fresh one arrives` };
  if (expiresAt - now < minValidityMs) return { ...known, level: "error", message: `token expires in ${minutes(expiresAt - now)}, too soon to start runners; last push ${minutes(pushedAgo)} ago` };
  if (pushedAgo > lateAfterMs) {
    return { ...known, level: "warn", message: `no push for ${minutes(pushedAgo)} (expected every 30m; GitHub may delay scheduled workflows): token expires in ${minutes(expiresAt - now)}` };
  }
  return { ...known, level: "ok", message: `token expires in ${minutes(expiresAt - now)}; pushed ${minutes(pushedAgo)} ago` };
}

function jitHealth(scope: string, connection: string, mode: "app" | "pat", facts: ConnectionFacts | undefined, now: number): CredentialHealth {
  const base = { scope, connection, mode };
  const expiresAt = facts?.credentialExpiresAt;
  const rate = facts?.rateLimit;
  const budget = rate ? `; ${rate.remaining}/${rate.limit} API requests left this hour` : "";
  if (expiresAt !== undefined && expiresAt <= now) return { ...base, expiresAt, level: "error", message: `the PAT expired ${minutes(now - expiresAt)} ago: replace it and reload` };
  if (rate && rate.remaining < Math.max(10, rate.limit * 0.05)) {
    return { ...base, ...(expiresAt !== undefined ? { expiresAt } : {}), level: "warn", message: `GitHub API budget nearly spent (${rate.remaining}/${rate.limit} left, resets in ${minutes(rate.resetAt - now)}): spawns may fail until then` };
  }
  if (expiresAt !== undefined && expiresAt - now < patWarnMs) return { ...base, expiresAt, level: "warn", message: `the PAT expires in ${minutes(expiresAt - now)}: replace it before then${budget}` };
  return { ...base, ...(expiresAt !== undefined ? { expiresAt } : {}), level: "ok", message: `JIT configs from the ${mode === "app" ? "GitHub App" : "PAT"}${expiresAt !== undefined ? ` (PAT expires in ${minutes(expiresAt - now)})` : ""}${budget}` };
}

/** Compact durations for one-line messages: 45s, 12m, 5h10m, 3d. */
export function minutes(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
  return `${Math.floor(h / 24)}d`;
}
