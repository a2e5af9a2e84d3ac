// Which scopes a verified OIDC caller may push registration tokens for, by the connection's
// `oidc.allow` rules. Pure: claims and rules in, scope keys out.
//
// A rule matches when every claim it lists equals one of its values. Comparison is exact, except
// for GitHub account and repository names: GitHub treats those case-insensitively (`Octo/App` and
// `octo/app` are one repository, and no two can differ only in case), while the token carries the
// name in its current display case. Comparing them exactly would make a rule written in lower case
// silently fail after a cosmetic rename, and relaxing it admits nobody new. Refs, environments,
// event names and workflow paths are case-sensitive in git and GitHub, so `refs/heads/Main` must
// not match a rule for `refs/heads/main`.
import { OIDC_RULE_CLAIMS, type OidcRule } from "../config/index.js";

type RuleClaim = (typeof OIDC_RULE_CLAIMS)[number];

function claimEquals(claim: RuleClaim, actual: string, expected: string): boolean {
  switch (claim) {
    case "repository":
    case "repository_owner":
      return actual.toLowerCase() === expected.toLowerCase();
    case "workflow_ref":
    case "job_workflow_ref":
      return workflowRefEquals(actual, expected);
    default:
      return actual === expected;
  }
}

/**
 * `owner/repo/.github/workflows/file.yml@ref`: the `owner/repo/` part is a GitHub name (compared
 * without case, as above), the path and ref are git's (exact).
 */
function workflowRefEquals(actual: string, expected: string): boolean {
  const split = (ref: string): [string, string] => {
    const second = ref.indexOf("/", ref.indexOf("/") + 1);
    return second < 0 ? [ref, ""] : [ref.slice(0, second), ref.slice(second)];
  };
  const [actualRepo, actualRest] = split(actual);
  const [expectedRepo, expectedRest] = split(expected);
  return actualRepo.toLowerCase() === expectedRepo.toLowerCase() && actualRest === expectedRest;
}

export function ruleMatches(rule: OidcRule, claims: Readonly<Record<string, unknown>>): boolean {
  let constrained = false;
  for (const claim of OIDC_RULE_CLAIMS) {
    const expected = rule[claim];
    if (expected === undefined) continue;
    constrained = true;
    const actual = claims[claim];
    // A claim the token lacks (no `environment` outside deployment jobs) matches nothing.
    if (typeof actual !== "string" || !expected.some((value) => claimEquals(claim, actual, value))) return false;
  }
  // The config refuses rules without an anchor claim; a rule listing no claim at all still admits nobody.
  return constrained;
}

/** Scope keys (lower-case scopeKey() form) the caller may push for, over all matching rules. */
export function allowedScopes(rules: readonly OidcRule[], claims: Readonly<Record<string, unknown>>): Set<string> {
  const scopes = new Set<string>();
  for (const rule of rules) {
    if (ruleMatches(rule, claims)) for (const scope of rule.scopes) scopes.add(scope);
  }
  return scopes;
}

/** `scope` must be in scopeKey() form already. */
export function mayPush(rules: readonly OidcRule[], claims: Readonly<Record<string, unknown>>, scope: string): boolean {
  return allowedScopes(rules, claims).has(scope);
}
