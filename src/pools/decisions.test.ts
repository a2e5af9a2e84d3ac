import { describe, expect, it } from "vitest";
import type { AgentStatus } from "./agent-status.js";
import { chooseCredential, deprecatedVersion, endedWithoutJob, isTerminalEnd, needsRegistrationRelease, selfUpdates, tookJobSincePlanned, type CollectedFacts, type CredentialChoice } from "./decisions.js";
import type { RunnerOutcome } from "./runner-record.js";

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

describe("endedWithoutJob: a collected runner that ran no job counts as a pool failure, whatever phase it reached", () => {
  it.each<[string, CollectedFacts, boolean]>([
    ["config-failed before listening", { outcome: "config-failed", result: never }, true],
    ["lost: no result.json at all", { outcome: "lost", result: null }, true],
    ["failed before listening", { outcome: "failed", result: never }, true],
    ["no-job after listening (a self-update gone wrong, a registration removed by someone else)", { outcome: "no-job", result: listened }, true],
    ["failed after listening", { outcome: "failed", result: listened }, true],
    ["refused as deprecated after listening", { outcome: "runner-deprecated", result: listened }, true],
    ["stopped by the plan at its boot timeout", { plannedOutcome: "boot-timeout", outcome: "boot-timeout", result: null }, true],
    ["failed after its job", { outcome: "failed", result: ranJob }, false],
    ["succeeded", { outcome: "succeeded", result: ranJob }, false],
    ["succeeded without a listening time (odd, but not a failure)", { outcome: "succeeded", result: never }, false],
    ["a job seen without a listening time", { outcome: "failed", result: { listening_at: null, job_seen: true } }, false],
    ["lost, but a pass saw it busy (killed during its job)", { outcome: "lost", result: null, sawJob: true }, false],
    ["stopped by the plan at its job timeout", { plannedOutcome: "job-timeout", outcome: "job-timeout", result: never }, false],
    ["stuck finishing, force-stopped, after its job", { plannedOutcome: "finishing-timeout", outcome: "finishing-timeout", result: ranJob }, false],
    ["stuck finishing, force-stopped, seen busy (a job that wrote finished and stayed up)", { plannedOutcome: "finishing-timeout", outcome: "finishing-timeout", result: null, sawJob: true }, false],
    ["stuck finishing, force-stopped, with no job at all", { plannedOutcome: "finishing-timeout", outcome: "finishing-timeout", result: listened }, true],
    ["removed on purpose: surplus", { plannedOutcome: "surplus", outcome: "surplus", result: listened }, false],
    ["removed on purpose: image-updated", { plannedOutcome: "image-updated", outcome: "image-updated", result: never }, false],
    ["removed on purpose: pool-removed", { plannedOutcome: "pool-removed", outcome: "pool-removed", result: null }, false],
    ["ended because runnerd deleted its registration", { outcome: "no-job", result: listened, registrationReleased: true }, false],
  ])("%s", (_name, facts, expected) => {
    expect(endedWithoutJob(facts)).toBe(expected);
  });
});

describe("isTerminalEnd, deprecatedVersion, selfUpdates", () => {
  it.each<[RunnerOutcome, boolean]>([
    ["runner-deprecated", true],
    ["failed", false],
    ["no-job", false],
    ["config-failed", false],
  ])("%s terminal: %s", (outcome, expected) => {
    expect(isTerminalEnd(outcome)).toBe(expected);
  });

  it.each<[string | undefined, object | null, string | undefined]>([
    ["An error occured: Runner version v2.313.0 is deprecated and cannot receive messages.", null, "2.313.0"],
    ["runner version 2.320.1 is deprecated", {}, "2.320.1"],
    ["Runner version v2.313.0 is deprecated", { runner_version: "2.314.1" }, "2.314.1"],
    ["Runner version v2.313.0 is deprecated", { runner_version: null }, "2.313.0"],
    ["exit code 1", { runner_version: "not a version" }, undefined],
    [undefined, null, undefined],
  ])("%s (result %o) -> %s", (detail, result, expected) => {
    expect(deprecatedVersion(detail, result)).toBe(expected);
  });

  it.each<[object | null, number]>([
    [null, 0],
    [{}, 0],
    [{ updates: 0 }, 0],
    [{ updates: 2 }, 2],
    [{ updates: "2" }, 0],
    [{ updates: -1 }, 0],
    [{ updates: Number.NaN }, 0],
  ])("%o -> %i self-updates", (result, expected) => {
    expect(selfUpdates(result)).toBe(expected);
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
