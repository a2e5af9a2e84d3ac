import { describe, expect, it } from "vitest";
import { runnerFreshness } from "./runner-freshness.js";

const DAY = 86_400_000;
const now = Date.parse("2026-11-28T00:00:00Z");
const rel = (version: string, daysAgo: number) => ({ version, publishedAt: new Date(now - daysAgo * DAY) });

describe("runnerFreshness", () => {
  it("is current on the newest release", () => {
    expect(runnerFreshness("2.330.0", [rel("2.330.0", 3), rel("2.329.0", 20)], now).level).toBe("current");
  });

  it("counts the window from the first newer release, not the latest", () => {
    const f = runnerFreshness("2.328.0", [rel("2.330.0", 2), rel("2.329.0", 10), rel("2.328.0", 40)], now);
    expect(f).toMatchObject({ level: "behind", latest: "2.330.0", daysLeft: 20 });
    expect(f.deadline?.toISOString()).toBe(new Date(now + 20 * DAY).toISOString());
  });

  it("turns critical in the last week and expired after 30 days", () => {
    expect(runnerFreshness("2.328.0", [rel("2.329.0", 25)], now)).toMatchObject({ level: "critical", daysLeft: 5 });
    const expired = runnerFreshness("2.328.0", [rel("2.329.0", 31)], now);
    expect(expired.level).toBe("expired");
    expect(expired.message).toMatch(/no longer accepts it/);
  });

  it("compares versions numerically", () => {
    expect(runnerFreshness("2.9.0", [rel("2.10.0", 1)], now).level).toBe("behind");
    expect(runnerFreshness("2.10.0", [rel("2.9.0", 1)], now).level).toBe("current");
  });

  it("says when nothing is known", () => {
    expect(runnerFreshness("2.329.0", [], now).level).toBe("unknown");
  });
});
