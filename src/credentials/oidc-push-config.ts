// What the config says about HTTPS token pushes: which (issuer, audience) pairs runnerd trusts,
// and which push connections, for a given pair, serve a scope.
import { scopeKey } from "../config/scope.js";
import type { Config, GitHubConnection, OidcConfig, PoolConfig, PushAuth } from "../config/index.js";

export interface OidcTrust {
  readonly issuer: string;
  readonly audience: string;
}

export type OidcPushConnection = GitHubConnection & { readonly auth: PushAuth & { readonly oidc: OidcConfig } };

export function oidcPushConnections(config: Config): OidcPushConnection[] {
  return Object.values(config.github).filter((c): c is OidcPushConnection => c.auth.type === "push" && c.auth.oidc !== undefined);
}

/** The scope key a pool's runners register for (as the reconciler keys tokens). */
export function poolScope(pool: PoolConfig): string {
  return scopeKey(pool.scope.type === "repo" ? { type: "repo", repo: pool.scope.repo } : { type: "org", org: pool.scope.org });
}

/**
 * The configured pair a token's (still unverified) `iss` and `aud` point at, so the token is
 * verified against keys of an issuer we chose, never one the token names.
 */
export function trustForToken(config: Config, iss: unknown, aud: unknown): { trust: OidcTrust } | { mismatch: "issuer" | "audience" } {
  const audiences = Array.isArray(aud) ? aud : [aud];
  let issuerKnown = false;
  for (const connection of oidcPushConnections(config)) {
    const { issuer, audience } = connection.auth.oidc;
    if (iss !== issuer) continue;
    issuerKnown = true;
    if (audiences.includes(audience)) return { trust: { issuer, audience } };
  }
  return { mismatch: issuerKnown ? "audience" : "issuer" };
}

/** Push connections trusting exactly `trust` whose pools use `scope` (a scopeKey()). */
export function oidcConnectionsServing(config: Config, scope: string, trust: OidcTrust): OidcPushConnection[] {
  const serving = new Set(config.pools.filter((pool) => poolScope(pool) === scope).map((pool) => pool.connection));
  return oidcPushConnections(config).filter(
    (c) => serving.has(c.name) && c.auth.oidc.issuer === trust.issuer && c.auth.oidc.audience === trust.audience,
  );
}
