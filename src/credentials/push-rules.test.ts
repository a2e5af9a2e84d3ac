import { describe, expect, it } from "vitest";
import type { OidcRule } from "../config/index.js";
import { allowedScopes, mayPush, ruleMatches } from "./push-rules.js";

const claims = {
  repository: "Octo-Org/Runner-Tokens",
  repository_id: "74",
  repository_owner: "Octo-Org",
  repository_owner_id: "65",
  ref: "refs/heads/main",
  workflow_ref: "Octo-Org/Runner-Tokens/.github/workflows/push.yml@refs/heads/main",
  job_workflow_ref: "Octo-Org/Runner-Tokens/.github/workflows/push.yml@refs/heads/main",
  event_name: "schedule",
};

const rule = (r: Omit<OidcRule, "scopes"> & { scopes?: string[] }): OidcRule => ({ scopes: ["repo:octo-org/app"], ...r });

describe("ruleMatches", () => {
  it("matches when every listed claim equals one of its values", () => {
    expect(ruleMatches(rule({ repository: ["octo-org/runner-tokens"], ref: ["refs/heads/dev", "refs/heads/main"] }), claims)).toBe(true);
    expect(ruleMatches(rule({ repository_id: ["74"], event_name: ["schedule", "workflow_dispatch"] }), claims)).toBe(true);
  });

  it("refuses when any listed claim differs", () => {
    expect(ruleMatches(rule({ repository: ["octo-org/runner-tokens"], ref: ["refs/heads/dev"] }), claims)).toBe(false);
    expect(ruleMatches(rule({ repository: ["octo-org/other"] }), claims)).toBe(false);
    expect(ruleMatches(rule({ repository_owner_id: ["66"] }), claims)).toBe(false);
  });

  it("compares repository and owner names without case, GitHub's own rule", () => {
    expect(ruleMatches(rule({ repository: ["OCTO-ORG/RUNNER-TOKENS"] }), claims)).toBe(true);
    expect(ruleMatches(rule({ repository_owner: ["octo-org"] }), claims)).toBe(true);
  });

  it("compares refs, event names and ids exactly", () => {
    expect(ruleMatches(rule({ repository_owner: ["octo-org"], ref: ["refs/heads/Main"] }), claims)).toBe(false);
    expect(ruleMatches(rule({ repository_owner: ["octo-org"], event_name: ["Schedule"] }), claims)).toBe(false);
    expect(ruleMatches(rule({ repository_id: ["074"] }), claims)).toBe(false);
  });

  it("compares a workflow ref's owner/repo without case and its path and ref exactly", () => {
    expect(ruleMatches(rule({ workflow_ref: ["octo-org/runner-tokens/.github/workflows/push.yml@refs/heads/main"] }), claims)).toBe(true);
    expect(ruleMatches(rule({ workflow_ref: ["octo-org/runner-tokens/.github/workflows/Push.yml@refs/heads/main"] }), claims)).toBe(false);
    expect(ruleMatches(rule({ job_workflow_ref: ["octo-org/runner-tokens/.github/workflows/push.yml@refs/heads/Main"] }), claims)).toBe(false);
    expect(ruleMatches(rule({ workflow_ref: ["octo-org/runner-tokens"] }), claims)).toBe(false);
  });

  it("does not match a claim the token lacks, nor a rule listing no claim", () => {
    expect(ruleMatches(rule({ repository_owner: ["octo-org"], environment: ["prod"] }), claims)).toBe(false);
    expect(ruleMatches(rule({}), claims)).toBe(false);
    expect(ruleMatches(rule({ repository_id: ["74"] }), { ...claims, repository_id: 74 })).toBe(false);
  });
});

describe("allowedScopes", () => {
  const rules: OidcRule[] = [
    { repository: ["octo-org/runner-tokens"], scopes: ["repo:octo-org/app", "org:octo-org"] },
    { repository: ["octo-org/runner-tokens"], ref: ["refs/heads/release"], scopes: ["repo:octo-org/secret"] },
    { repository_owner: ["someone-else"], scopes: ["repo:octo-org/other"] },
  ];

  it("unions the scopes of every matching rule", () => {
    expect([...allowedScopes(rules, claims)].sort()).toEqual(["org:octo-org", "repo:octo-org/app"]);
    expect([...allowedScopes(rules, { ...claims, ref: "refs/heads/release" })].sort()).toEqual(["org:octo-org", "repo:octo-org/app", "repo:octo-org/secret"]);
  });

  it("answers mayPush per scope key", () => {
    expect(mayPush(rules, claims, "repo:octo-org/app")).toBe(true);
    expect(mayPush(rules, claims, "repo:octo-org/secret")).toBe(false);
    expect(mayPush(rules, { ...claims, repository: "evil/runner-tokens", repository_owner: "evil" }, "repo:octo-org/app")).toBe(false);
  });
});
