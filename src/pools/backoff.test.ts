import { describe, expect, it } from "vitest";
import { backoffBound, backoffDelay, countAtCap, failureKey, PoolBackoff, recoveredSince, recoveryDueAt } from "./backoff.js";
import type { ObservedRunner } from "./types.js";

const policy = { baseMs: 1000, capMs: 60_000, stableIdleMs: 90_000 };

describe("backoffBound and backoffDelay", () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [6, 32_000],
    [7, 60_000],
    [20, 60_000],
    [0, 1000],
  ])("failure %i: bound %i ms", (count, bound) => {
    expect(backoffBound(count, policy)).toBe(bound);
  });

  it.each([
    [1, 0, 500],
    [1, 0.5, 750],
    [1, 0.999_999, 1000],
    [3, 0, 2000],
    [3, 1, 4000],
    [7, 0, 30_000],
    [7, 0.5, 45_000],
    [50, 1, 60_000],
    // a random source out of range is clamped, never a wait past the bound
    [2, 7, 2000],
    [2, -1, 1000],
  ])("failure %i with random %f waits %i ms (equal jitter)", (count, random, delay) => {
    expect(backoffDelay(count, random, policy)).toBe(delay);
  });

  it("stays within [bound/2, bound] for any random draw", () => {
    for (let count = 1; count <= 12; count++) {
      for (const r of [0, 0.1, 0.37, 0.5, 0.93, 0.999]) {
        const d = backoffDelay(count, r, policy);
        expect(d).toBeGreaterThanOrEqual(backoffBound(count, policy) / 2);
        expect(d).toBeLessThanOrEqual(backoffBound(count, policy));
      }
    }
  });

  it("reaches the cap at the 7th failure with base 1 s and cap 60 s", () => {
    expect(countAtCap(policy)).toBe(7);
    expect(countAtCap({ baseMs: 1000, capMs: 1000 })).toBe(1);
  });
});

const F = 1_800_000_000_000; // the pool's most recent failure
const r = (phase: ObservedRunner["phase"], createdAt: number, over: Partial<ObservedRunner> = {}): ObservedRunner => ({ name: `rd-web-${phase}-${createdAt}`, pool: "web", phase, createdAt, ...over });

const S = 90_000; // stableIdleMs
describe("recoveredSince: a new runner took a job, or one listening since the failure stayed idle for a while", () => {
  it.each<[string, ObservedRunner[], number, boolean]>([
    ["no runners", [], F + 600_000, false],
    ["an older runner idle since before the failure", [r("idle", F - 60_000, { phaseSince: F - 30_000 })], F + 600_000, false],
    ["an older runner busy (it took a job after the failure)", [r("busy", F - 60_000, { phaseSince: F + 5000 })], F + 600_000, false],
    ["a runner made after the failure, idle for a moment only", [r("idle", F + 1000, { phaseSince: F + 4000 })], F + 5000, false],
    ["a runner made after the failure, idle just short of the wait", [r("idle", F + 1000, { phaseSince: F + 4000 })], F + 4000 + S - 1, false],
    ["a runner made after the failure, idle for the wait", [r("idle", F + 1000, { phaseSince: F + 4000 })], F + 4000 + S, true],
    ["a runner made after the failure, busy (took a job) at once", [r("busy", F + 1000, { phaseSince: F + 9000 })], F + 10_000, true],
    ["a runner made after the failure, still starting", [r("starting", F + 1000)], F + 600_000, false],
    ["a runner made after the failure, being created", [r("creating", F + 1000)], F + 600_000, false],
    ["a runner made after the failure that finished (no job known)", [r("finishing", F + 1000, { phaseSince: F + 2000 })], F + 600_000, false],
    ["an older runner first listening after the failure, for the wait", [r("idle", F - 2000, { phaseSince: F + 3000 })], F + 3000 + S, true],
    ["an older runner first listening after the failure, briefly", [r("idle", F - 2000, { phaseSince: F + 3000 })], F + 10_000, false],
    ["an older runner listening since the failure's own second", [r("idle", F - 2000, { phaseSince: F })], F + 600_000, false],
    ["a runner made after the failure, listening in the failure's own second (whole seconds)", [r("idle", F + 300, { phaseSince: F })], F + 300 + S, true],
    ["a runner made after the failure, of another pool", [r("idle", F + 1000, { pool: "api", phaseSince: F + 4000 })], F + 600_000, false],
    ["an old listener and a new one starting", [r("idle", F - 60_000, { phaseSince: F - 50_000 }), r("starting", F + 10)], F + 600_000, false],
  ])("%s", (_name, runners, now, expected) => {
    expect(recoveredSince("web", F, runners, now, S)).toBe(expected);
  });
});

describe("recoveryDueAt", () => {
  it.each<[string, ObservedRunner[], number | undefined]>([
    ["nobody listening since the failure", [r("idle", F - 60_000, { phaseSince: F - 30_000 }), r("starting", F + 1000)], undefined],
    ["the earliest listener since the failure", [r("idle", F + 1000, { phaseSince: F + 9000 }), r("idle", F + 500, { phaseSince: F + 4000 })], F + 4000 + S],
    ["another pool's listener", [r("idle", F + 1000, { pool: "api", phaseSince: F + 4000 })], undefined],
  ])("%s", (_name, runners, expected) => {
    expect(recoveryDueAt("web", F, runners, S)).toBe(expected);
  });
});

describe("PoolBackoff", () => {
  const clock = (start = F) => {
    const c = { t: start, r: 0.5, now: () => c.t, random: () => c.r };
    return c;
  };

  it("grows exponentially with jitter and caps", () => {
    const c = clock();
    const b = new PoolBackoff(c, policy);
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      c.r = i % 2 === 0 ? 0 : 1;
      delays.push(b.fail("web", "create failed", false).delay);
    }
    expect(delays).toEqual([500, 2000, 2000, 8000, 8000, 32_000, 30_000, 60_000, 30_000]);
    expect(b.get("web")).toMatchObject({ count: 9, at: F, until: F + 30_000, message: "create failed", terminal: false });
    expect(b.untilByPool()).toEqual(new Map([["web", F + 30_000]]));
  });

  it("sends a terminal failure straight to the cap", () => {
    const b = new PoolBackoff(clock(), policy);
    const f = b.fail("web", "image not found", true);
    expect(f).toMatchObject({ count: 7, delay: 45_000, until: F + 45_000, terminal: true });
    // and keeps counting from there
    expect(b.fail("web", "image not found", true).count).toBe(8);
    expect(b.fail("web", "disk full", false)).toMatchObject({ count: 9, terminal: false, delay: 45_000 });
  });

  it("keeps pools apart", () => {
    const b = new PoolBackoff(clock(), policy);
    b.fail("web", "x", false);
    b.fail("web", "x", false);
    expect(b.fail("api", "y", false).count).toBe(1);
  });

  it("resets only when a runner made after the most recent failure takes a job, or stays listening for a while", () => {
    const c = clock();
    const b = new PoolBackoff(c, policy);
    b.fail("web", "first", false);
    c.t = F + 10_000;
    b.fail("web", "second", false);
    const old = r("idle", F - 60_000, { phaseSince: F - 50_000 });
    expect(b.settle([old])).toEqual({ recovered: [] });
    // made after the first failure but before the most recent one: not yet proof
    expect(b.settle([old, r("busy", F + 5000)])).toEqual({ recovered: [] });
    expect(b.get("web")?.count).toBe(2);
    // listening since after the failure, but only just: not yet proof, and a pass is due when it would be
    const listener = r("idle", F + 11_000, { phaseSince: F + 14_000 });
    c.t = F + 20_000;
    expect(b.settle([old, listener])).toEqual({ recovered: [], dueAt: F + 14_000 + 90_000 });
    c.t = F + 14_000 + 90_000;
    expect(b.settle([old, listener])).toEqual({ recovered: ["web"] });
    expect(b.get("web")).toBeUndefined();
    expect(b.untilByPool().size).toBe(0);
    expect(b.fail("web", "again", false).count).toBe(1);
  });

  it("ends when a collected runner made after the failure ran a job (never seen busy), not for an older one", () => {
    const c = clock();
    const b = new PoolBackoff(c, policy);
    b.fail("web", "x", false);
    expect(b.jobDone("web", F - 1)).toBe(false);
    expect(b.jobDone("web", F)).toBe(false);
    expect(b.get("web")?.count).toBe(1);
    expect(b.jobDone("api", F + 1)).toBe(false);
    expect(b.jobDone("web", F + 1)).toBe(true);
    expect(b.get("web")).toBeUndefined();
  });

  it("ends at once when a new runner takes a job", () => {
    const c = clock();
    const b = new PoolBackoff(c, policy);
    b.fail("web", "x", false);
    c.t = F + 3000;
    expect(b.settle([r("busy", F + 1000, { phaseSince: F + 2500 })])).toEqual({ recovered: ["web"] });
  });

  it("no hot loop: runners that listen and then end without a job keep growing the wait, old idle runners or not", () => {
    const c = clock();
    c.r = 1; // the longest wait of each step
    const b = new PoolBackoff(c, policy);
    const old = [r("idle", F - 600_000, { phaseSince: F - 590_000 }), r("idle", F - 500_000, { phaseSince: F - 490_000 })];
    const waits: number[] = [];
    let delay = 0;
    for (let cycle = 0; cycle < 9; cycle++) {
      // the replacement is made when the backoff ends, listens 5 s later, and is refused 2 s after that
      const made = c.t + delay;
      const fresh = r("idle", made, { name: `rd-web-${cycle}`, phaseSince: made + 5000 });
      c.t = made + 6000;
      expect(b.settle([...old, fresh]).recovered).toEqual([]);
      c.t = made + 7000;
      delay = b.fail("web", "runner ended without a job (runner-deprecated)", false).delay;
      waits.push(delay);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(b.get("web")?.count).toBe(9);
  });
});

describe("PoolBackoff: one change, one event", () => {
  it("counts a failure that differs only in numbers, ids or its class as the same failure", () => {
    const b = new PoolBackoff({ now: () => 1000, random: () => 0.5 });
    expect(b.fail("web", "Failed to start device \"p\": listen tcp 127.0.0.1:40123: pid 4711", false).changed).toBe(true);
    expect(b.fail("web", "Failed to start device \"p\": listen tcp 127.0.0.1:40999: pid 4812", true).changed).toBe(false);
    expect(b.fail("web", "Image \"0123456789abcdef0123\" not found", true).changed).toBe(true);
    expect(b.fail("web", "Image \"fedcba9876543210fedc\" not found", true).changed).toBe(false);
    expect(failureKey("rt-web-1 exited 137")).toBe("rt-web-# exited #");
  });
});
