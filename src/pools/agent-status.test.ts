import { describe, expect, it } from "vitest";
import { isNewerStatus, parseAgentStatus } from "./agent-status.js";

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

  it.each(["", "state=dancing\nat=1\n", "state=idle\n", "state=idle\nat=soon\n"])("refuses %j", (raw) => {
    expect(parseAgentStatus(raw)).toBeNull();
  });

  it("orders states forward only", () => {
    expect(isNewerStatus({ state: "busy", since: 1 }, { state: "idle", since: 2 })).toBe(true);
    expect(isNewerStatus({ state: "idle", since: 3 }, { state: "busy", since: 2 })).toBe(false);
  });
});
