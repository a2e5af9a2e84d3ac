// OIDC push rules that admit more workflows than the renewal workflow. GitHub's issuer signs a
// token for any workflow run that asks for one, so a rule pinning only a repository (or owner)
// admits every workflow of it, including `pull_request_target` and `workflow_run` workflows, which
// run with the repository's rights and often on code from a fork. Such rules are warned about,
// not refused: configs written before this check pin `repository` and `ref`, and refusing them
// would stop an upgraded daemon from starting (and so every runner) over a risk that needs a
// second mistake (a workflow handing its OIDC token to untrusted code) to matter.
import type { DataWarning } from "./deprecations.js";

/** Claims that name one workflow (or a protected environment), not just where it lives. */
export const WORKFLOW_PIN_CLAIMS = ["workflow_ref", "job_workflow_ref", "environment"] as const;

/**
 * Events only people with write access can start, and the only ones the renewal workflow uses:
 * a rule limited to them admits no workflow a fork can trigger.
 */
export const MAINTAINER_EVENTS: readonly string[] = ["schedule", "workflow_dispatch"];

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function values(value: unknown): unknown[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

/** Whether a rule (the file's data) admits only workflows a maintainer chose. */
export function ruleIsPinned(rule: Record<string, unknown>): boolean {
  if (WORKFLOW_PIN_CLAIMS.some((claim) => rule[claim] !== undefined)) return true;
  const events = values(rule.event_name);
  return events !== undefined && events.every((event) => typeof event === "string" && MAINTAINER_EVENTS.includes(event));
}

export const UNPINNED_RULE_MESSAGE =
  "this rule admits every workflow of the repositories it names: GitHub signs an OIDC token for any workflow run, " +
  "including pull_request_target and workflow_run workflows that run code from forks with their repository's rights. " +
  "Pin workflow_ref to the renewal workflow (OWNER/REPO/.github/workflows/FILE.yml@refs/heads/main), or job_workflow_ref or environment; " +
  "or at least event_name: [schedule, workflow_dispatch]";

/** One warning per rule of a push connection that pins no workflow. */
export function findUnpinnedOidcRules(data: unknown): DataWarning[] {
  const warnings: DataWarning[] = [];
  for (const [name, connection] of Object.entries(asRecord(asRecord(data)?.github) ?? {})) {
    const auth = asRecord(asRecord(connection)?.auth);
    const rules = asRecord(auth?.oidc)?.allow;
    if (auth?.type !== "push" || !Array.isArray(rules)) continue;
    rules.forEach((rule: unknown, index) => {
      const r = asRecord(rule);
      if (r && !ruleIsPinned(r)) warnings.push({ path: ["github", name, "auth", "oidc", "allow", index], message: UNPINNED_RULE_MESSAGE });
    });
  }
  return warnings;
}
