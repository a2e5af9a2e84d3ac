import { describe, expect, it } from "vitest";
import { clampPhaseStart, isNewerStatus, parseAgentStatus } from "./agent-status.js";

describe("parseAgentStatus", () => {
  it.each([
    ["state=idle\nat=100\n", { state: "idle", since: 100_000 }],
    ["state=busy\nat=101\njob=build\n", { state: "busy", since: 101_000, job: "build" }],
    // Agents of runnerd 0.1 wrote `listening`; their runners are adopted after an upgrade.
    ["state=listening\nat=102\n", { state: "idle", since: 102_000 }],
    ["state=finished\nat=103\n", { state: "finished", since: 103_000 }],
  ])("reads %j", (raw, expected) => {
    expect(parseAgentStatus(raw)).toEqual(expected);
  });

  it.each(["", "state=dancing\nat=1\n", "state=idle\n", "state=idle\nat=soon\n", "state=busy\nat=1e306\n", "state=busy\nat=Infinity\n"])("refuses %j", (raw) => {
    expect(parseAgentStatus(raw)).toBeNull();
  });

  it("orders states forward only", () => {
    expect(isNewerStatus({ state: "busy", since: 1 }, { state: "idle", since: 2 })).toBe(true);
    expect(isNewerStatus({ state: "idle", since: 3 }, { state: "busy", since: 2 })).toBe(false);
  });
});

describe("clampPhaseStart", () => {
  const created = 1_000_000;
  const seen = 2_000_000;
  it.each([
    ["a time between creation and first sight is kept (a runner that went busy between two passes)", 1_500_000, 1_500_000],
    ["a time in the future (busy at 9999999999) is runnerd's first sight", 9_999_999_999_000, seen],
    ["a time before the instance existed is its creation", 0, created],
    ["a time far in the past is its creation", -1e15, created],
    ["NaN is runnerd's first sight", NaN, seen],
  ])("%s", (_what, reported, expected) => {
    expect(clampPhaseStart(reported, created, seen)).toBe(expected);
  });

  it("takes runnerd's clock when the bounds cross (a clock set back)", () => {
    expect(clampPhaseStart(5, seen, created)).toBe(created);
  });
});
