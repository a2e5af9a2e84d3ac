import { describe, expect, it } from "vitest";
import { LxdError } from "../errors.js";
import { instanceNameFromLifecycle, isInstanceStopEvent, parseEvent, reconnectDelayMs } from "./events.js";
import type { LifecycleEvent } from "./events.js";

const lifecycle = (action: string, source: string): string =>
  JSON.stringify({ type: "lifecycle", timestamp: "2026-11-28T02:02:29.577Z", project: "default", location: "none", metadata: { action, source, context: null } });

describe("parseEvent", () => {
  it("reads a lifecycle event", () => {
    const event = parseEvent(lifecycle("instance-shutdown", "/1.0/instances/rd-web-1f")) as LifecycleEvent;
    expect(event.type).toBe("lifecycle");
    expect(event.metadata.action).toBe("instance-shutdown");
    expect(event.timestamp.toISOString()).toBe("2026-11-28T02:02:29.577Z");
    expect(event.metadata.context).toBeUndefined();
  });

  it("returns an LxdError for garbage and null for unknown types", () => {
    expect(parseEvent("{")).toBeInstanceOf(LxdError);
    expect(parseEvent(JSON.stringify({ type: "ovn", timestamp: "2026-01-01T00:00:00Z", metadata: {} }))).toBeNull();
  });
});

describe("instanceNameFromLifecycle", () => {
  const name = (source: string) => instanceNameFromLifecycle(parseEvent(lifecycle("instance-started", source)) as LifecycleEvent);
  it.each([
    ["/1.0/instances/rd-web-1f", "rd-web-1f"],
    ["/1.0/instances/rd-web-1f?project=runners", "rd-web-1f"],
    ["/1.0/instances/c1/snapshots/s0", "c1"],
    ["/1.0/images/abc", null],
  ])("%s → %s", (source, expected) => expect(name(source)).toBe(expected));
});

describe("isInstanceStopEvent", () => {
  it.each([
    ["instance-stopped", true],
    ["instance-shutdown", true],
    ["instance-started", false],
    ["instance-restarted", false],
  ])("%s → %s", (action, expected) => {
    expect(isInstanceStopEvent(parseEvent(lifecycle(action, "/1.0/instances/c")) as LifecycleEvent)).toBe(expected);
  });
});

describe("reconnectDelayMs", () => {
  const policy = { initialMs: 500, maxMs: 30_000 };
  it("doubles per attempt with half of it random", () => {
    expect(reconnectDelayMs(0, policy, () => 0)).toBe(250);
    expect(reconnectDelayMs(0, policy, () => 1)).toBe(500);
    expect(reconnectDelayMs(3, policy, () => 0.5)).toBe(3000);
  });
  it("is capped", () => {
    expect(reconnectDelayMs(50, policy, () => 1)).toBe(30_000);
    expect(reconnectDelayMs(50, policy, () => 0)).toBe(15_000);
  });
});
