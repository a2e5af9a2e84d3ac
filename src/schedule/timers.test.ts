import { describe, expect, it } from "vitest";
import { maxTimerMs, timerDelay } from "./timers.js";

describe("timerDelay", () => {
  it.each([
    ["a delay within bounds", 5000, undefined, 0, 5000],
    ["30 days, above what a timer holds", 30 * 86_400_000, undefined, 0, maxTimerMs],
    ["a far deadline, under a cap", 1e15, 15_000, 0, 15_000],
    ["a negative delay, with a floor", -5, 15_000, 50, 50],
    ["NaN: the cap", NaN, 15_000, 50, 15_000],
    ["Infinity: the cap", Infinity, 15_000, 50, 15_000],
    ["a cap above what a timer holds", 1e15, 1e16, 0, maxTimerMs],
    ["a cap that is not a number", 1e15, NaN, 0, maxTimerMs],
  ])("%s", (_what, ms, cap, floor, expected) => {
    expect(timerDelay(ms, cap, floor)).toBe(expected);
  });

  it("is what Node honours", () => {
    expect(maxTimerMs).toBe(2_147_483_647);
  });
});
