import { describe, expect, it } from "vitest";
import { parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["500ms", 500],
    ["15s", 15_000],
    ["5m", 300_000],
    ["6h", 21_600_000],
    ["1.5s", 1_500],
    [90, 90_000],
    [0.25, 250],
  ] as const)("%s is %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(["", "5", "5 minutes", "-1s", "1h30m", "s"])("rejects %j", (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });

  it("rejects negative and non-finite numbers", () => {
    expect(parseDuration(-1)).toBeUndefined();
    expect(parseDuration(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});
