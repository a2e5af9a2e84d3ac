// Scope arithmetic: keys, runner URLs, and which runner scope may take which job.
import type { Scope } from "./types.js";

/** A case-insensitive key, because GitHub treats owner and repository names that way. */
export function scopeKey(scope: Scope): string {
  return "repo" in scope ? `repo:${scope.repo.toLowerCase()}` : `org:${scope.org.toLowerCase()}`;
}

export function describeScope(scope: Scope): string {
  return "repo" in scope ? scope.repo : `org ${scope.org}`;
}

export function sameScope(a: Scope, b: Scope): boolean {
  return scopeKey(a) === scopeKey(b);
}

/** `https://host/owner/repo` → repo scope, `https://host/org` → org scope, anything else → null. */
export function parseRunnerUrl(url: string): Scope | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const parts = parsed.pathname.split("/").filter((p) => p !== "");
  if (parts.length === 1 && parts[0] !== undefined) return { org: parts[0] };
  if (parts.length === 2 && parts[0] !== undefined && parts[1] !== undefined) {
    return { repo: `${parts[0]}/${parts[1]}` };
  }
  return null;
}

/** A repo job can also run on an org-level runner of the repository's owner, as on GitHub. */
export function runnerScopeServesJob(runnerScope: Scope, jobScope: Scope): boolean {
  if (sameScope(runnerScope, jobScope)) return true;
  if ("org" in runnerScope && "repo" in jobScope) {
    const owner = jobScope.repo.split("/")[0] ?? "";
    return owner.toLowerCase() === runnerScope.org.toLowerCase();
  }
  return false;
}

export function parseScopeInput(value: unknown): Scope | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.repo === "string" && /^[^/\s]+\/[^/\s]+$/.test(v.repo)) return { repo: v.repo };
  if (typeof v.org === "string" && /^[^/\s]+$/.test(v.org)) return { org: v.org };
  return null;
}
