import { describe, expect, it } from "vitest";
import type { AgentStatus } from "./agent-status.js";
import { chooseCredential, needsRegistrationRelease, neverListened, tookJobSincePlanned, type CollectedFacts, type CredentialChoice } from "./decisions.js";

describe("chooseCredential", () => {
  const push = { name: "web", connection: "main", credential: "push" as const };
  const jit = { name: "web", connection: "app", credential: "jit" as const };
  it.each<[string, Parameters<typeof chooseCredential>, CredentialChoice]>([
    ["a push pool with its token", [push, { token: "AAA" }, false], { kind: "token", token: "AAA" }],
    ["a push pool whose token is gone since the plan: skip", [push, null, false], { kind: "skip" }],
    ["a push pool ignores the registrar", [push, null, true], { kind: "skip" }],
    ["a jit pool with a registrar", [jit, null, true], { kind: "jit" }],
    ["a jit pool without a GitHub client", [jit, null, false], { kind: "refuse", message: "pool web needs JIT configs but runnerd has no GitHub client for connection app" }],
  ])("%s", (_name, args, expected) => {
    expect(chooseCredential(...args)).toEqual(expected);
  });
});

const listened = { listening_at: 1_800_000_000, job_seen: false };
const ranJob = { listening_at: 1_800_000_000, job_seen: true };
const never = { listening_at: null, job_seen: false };

describe("neverListened: a collected runner that never listened counts as a pool failure", () => {
  it.each<[string, CollectedFacts, boolean]>([
    ["config-failed before listening", { outcome: "config-failed", result: never }, true],
    ["lost: no result.json at all", { outcome: "lost", result: null }, true],
    ["failed before listening", { outcome: "failed", result: never }, true],
    ["no-job after listening", { outcome: "no-job", result: listened }, false],
    ["failed after its job", { outcome: "failed", result: ranJob }, false],
    ["succeeded", { outcome: "succeeded", result: ranJob }, false],
    ["succeeded without a listening time (odd, but not a failure)", { outcome: "succeeded", result: never }, false],
    ["a job seen without a listening time", { outcome: "failed", result: { listening_at: null, job_seen: true } }, false],
    ["stopped by the plan at its boot timeout", { plannedOutcome: "boot-timeout", outcome: "boot-timeout", result: null }, false],
    ["stopped by the plan at its job timeout", { plannedOutcome: "job-timeout", outcome: "job-timeout", result: never }, false],
  ])("%s", (_name, facts, expected) => {
    expect(neverListened(facts)).toBe(expected);
  });
});

describe("needsRegistrationRelease", () => {
  it.each<[string, Pick<CollectedFacts, "outcome" | "result">, boolean]>([
    ["succeeded with its job: GitHub removed it", { outcome: "succeeded", result: ranJob }, false],
    ["succeeded without a job seen", { outcome: "succeeded", result: listened }, true],
    ["failed after its job", { outcome: "failed", result: ranJob }, true],
    ["no-job", { outcome: "no-job", result: listened }, true],
    ["lost", { outcome: "lost", result: null }, true],
    ["boot timeout", { outcome: "boot-timeout", result: null }, true],
  ])("%s", (_name, facts, expected) => {
    expect(needsRegistrationRelease(facts)).toBe(expected);
  });
});

describe("tookJobSincePlanned", () => {
  it.each<[AgentStatus | null, boolean]>([
    [null, false],
    [{ state: "booting", since: 1 }, false],
    [{ state: "configuring", since: 1 }, false],
    [{ state: "idle", since: 1 }, false],
    [{ state: "busy", since: 1, job: "build" }, true],
    [{ state: "finished", since: 1 }, true],
  ])("%o -> %s", (status, expected) => {
    expect(tookJobSincePlanned(status)).toBe(expected);
  });
});
