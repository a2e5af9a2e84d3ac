// Scope keys: the one string form of a scope, used to key tokens in the store and on the CLI.
import { ConfigError } from "../errors.js";

/** The part of a scope that identifies it (a token is minted per repo or org, not per runner group). */
export type ScopeRef = { readonly type: "repo"; readonly repo: string } | { readonly type: "org"; readonly org: string };

/** GitHub user and organisation names: letters, digits and hyphens, at most 39 characters. */
export const OWNER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/;
/** `owner/name`; repository names allow dots, underscores and hyphens. */
export const REPO_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;

/**
 * `repo:owner/name` or `org:name`, lower-cased because GitHub matches these names
 * case-insensitively: a token pushed for `Owner/Repo` must serve a pool written as `owner/repo`.
 */
export function scopeKey(scope: ScopeRef): string {
  return scope.type === "repo" ? `repo:${scope.repo.toLowerCase()}` : `org:${scope.org.toLowerCase()}`;
}

/** The scope key of a pool (any scope with repo or org: a PoolConfig's, or a ScopeRef). */
export function poolScopeKey(pool: { readonly scope: ScopeRef }): string {
  return scopeKey(pool.scope);
}

/** The inverse of scopeKey; also takes a bare `owner/name` as a repository scope. */
export function parseScopeKey(text: string): ScopeRef {
  const value = text.trim();
  if (value.startsWith("repo:")) {
    const repo = value.slice("repo:".length);
    if (REPO_PATTERN.test(repo)) return { type: "repo", repo };
    throw new ConfigError(`invalid scope "${text}": expected repo:owner/name`);
  }
  if (value.startsWith("org:")) {
    const org = value.slice("org:".length);
    if (OWNER_PATTERN.test(org)) return { type: "org", org };
    throw new ConfigError(`invalid scope "${text}": expected org:name (letters, digits and hyphens)`);
  }
  if (REPO_PATTERN.test(value)) return { type: "repo", repo: value };
  throw new ConfigError(`invalid scope "${text}": expected repo:owner/name, org:name or owner/name`);
}
