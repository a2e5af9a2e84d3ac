import { describe, expect, it } from "vitest";
import { plan } from "./plan.js";
import type { Action, ObservedRunner, PlanSettings, PoolSpec, Snapshot } from "./types.js";

const now = 1_800_000_000_000;
const minute = 60_000;
const settings: PlanSettings = {
  maxRunners: 10,
  bootTimeoutMs: 5 * minute,
  jobTimeoutMs: 360 * minute,
  tokenMinValidityMs: 5 * minute,
  startingPollMs: 500,
  finishingTimeoutMs: minute,
};
const web: PoolSpec = { name: "web", scope: "repo:acme/web", floor: 2, ceiling: 2 };
const api: PoolSpec = { name: "api", scope: "repo:acme/api", floor: 3, ceiling: 3 };

function snapshot(over: Partial<Snapshot> = {}): Snapshot {
  return {
    pools: [web],
    runners: [],
    tokenExpiry: new Map([
      ["repo:acme/web", now + 60 * minute],
      ["repo:acme/api", now + 60 * minute],
    ]),
    backoffUntil: new Map(),
    shuttingDown: false,
    ...over,
  };
}

let serial = 0;
function runner(phase: ObservedRunner["phase"], over: Partial<ObservedRunner> = {}): ObservedRunner {
  serial++;
  return { name: `rd-web-${serial}`, pool: "web", phase, createdAt: now - minute, ...over };
}

const kinds = (actions: Action[]) => actions.map((a) => (a.kind === "spawn" ? `spawn ${a.pool}` : `${a.kind} ${a.runner}`));

describe("plan", () => {
  it("fills an empty pool up to its idle floor", () => {
    const result = plan(snapshot(), settings, now);
    expect(kinds(result.actions)).toEqual(["spawn web", "spawn web"]);
    expect(result.actions[0]).toMatchObject({ reason: "0 of 2 idle runners available" });
    expect(result.pools[0]).toMatchObject({ name: "web", idle: 0, busy: 0, starting: 0 });
    expect(result.pools[0]?.blocked).toBeUndefined();
  });

  it("does nothing when the floor is met", () => {
    const result = plan(snapshot({ runners: [runner("idle"), runner("creating")] }), settings, now);
    expect(result.actions).toEqual([]);
    expect(result.pools[0]).toMatchObject({ idle: 1, starting: 1 });
  });

  it("counts starting runners as available and polls them", () => {
    const result = plan(snapshot({ runners: [runner("starting"), runner("starting")] }), settings, now);
    expect(result.actions).toEqual([]);
    expect(result.requeueAfterMs).toBe(500);
  });

  it("collects a stopped runner and replaces it in the same pass", () => {
    const stopped = runner("stopped");
    const result = plan(snapshot({ runners: [stopped, runner("idle")] }), settings, now);
    expect(kinds(result.actions)).toEqual([`collect ${stopped.name}`, "spawn web"]);
    expect(result.actions[0]).toMatchObject({ forceStop: false, reason: "instance stopped" });
    expect(result.pools[0]).toMatchObject({ finishing: 1, idle: 1 });
  });

  it("replaces a runner whose agent finished at once (below the ceiling), and collects it only once it has stopped", () => {
    const finishing = runner("finishing", { phaseSince: now - 2000 });
    const result = plan(snapshot({ pools: [{ ...web, ceiling: 3 }], runners: [finishing, runner("idle")] }), settings, now);
    expect(kinds(result.actions)).toEqual(["spawn web"]);
    expect(result.pools[0]).toMatchObject({ finishing: 1, idle: 1 });
    expect(result.requeueAfterMs).toBe(minute - 2000);
    // Its instance still runs: at the ceiling, the replacement waits for it to stop.
    const full = plan(snapshot({ runners: [finishing, runner("idle")] }), settings, now);
    expect(full.actions).toEqual([]);
  });

  it("stops a runner that finished but never powered off, and says so", () => {
    const stuck = runner("finishing", { phaseSince: now - 2 * minute });
    const result = plan(snapshot({ runners: [stuck, runner("idle")] }), settings, now);
    expect(result.actions[0]).toEqual({
      kind: "collect",
      pool: "web",
      runner: stuck.name,
      forceStop: true,
      outcome: "finishing-timeout",
      reason: "agent finished 2m ago but the instance is still running: force-stopped (finishing deadline 60s)",
    });
  });

  it("does not touch runners this process is already deleting", () => {
    const result = plan(snapshot({ runners: [runner("deleting"), runner("idle"), runner("idle")] }), settings, now);
    expect(result.actions).toEqual([]);
  });

  it("never exceeds the pool's ceiling when all runners are busy", () => {
    const result = plan(snapshot({ runners: [runner("busy"), runner("busy")] }), settings, now);
    expect(result.actions).toEqual([]);
    const wider = plan(snapshot({ pools: [{ ...web, ceiling: 3 }], runners: [runner("busy"), runner("busy")] }), settings, now);
    expect(kinds(wider.actions)).toEqual(["spawn web"]);
  });

  it("times out a runner that never starts listening", () => {
    const late = runner("starting", { createdAt: now - 6 * minute });
    const result = plan(snapshot({ runners: [late, runner("idle")] }), settings, now);
    expect(result.actions[0]).toMatchObject({ kind: "collect", runner: late.name, forceStop: true, outcome: "boot-timeout" });
    expect(kinds(result.actions)).toContain("spawn web");
  });

  it("asks to look again at the next deadline", () => {
    const busy = runner("busy", { phaseSince: now - 2 * minute });
    const full = plan(snapshot({ pools: [{ ...web, floor: 1, ceiling: 1 }], runners: [busy] }), settings, now);
    expect(full.requeueAfterMs).toBe(358 * minute);
    const booting = runner("starting", { createdAt: now - 2 * minute });
    const slowPoll = { ...settings, startingPollMs: 10 * minute };
    const withBoot = plan(snapshot({ pools: [{ ...web, floor: 1, ceiling: 2 }], runners: [busy, booting] }), slowPoll, now);
    expect(withBoot.requeueAfterMs).toBe(3 * minute);
  });

  it("times out a job that runs too long, measured from when it started", () => {
    const long = runner("busy", { phaseSince: now - 361 * minute, createdAt: now - 400 * minute });
    const fine = runner("busy", { phaseSince: now - 10 * minute, createdAt: now - 400 * minute });
    const result = plan(snapshot({ runners: [long, fine] }), settings, now);
    expect(result.actions).toContainEqual(expect.objectContaining({ kind: "collect", runner: long.name, outcome: "job-timeout", forceStop: true }));
    expect(result.actions.some((a) => a.kind !== "spawn" && a.runner === fine.name)).toBe(false);
  });

  it("deletes surplus runners, those not yet listening first", () => {
    const starting = runner("starting");
    const older = runner("idle", { createdAt: now - 10 * minute });
    const newer = runner("idle", { createdAt: now - 2 * minute });
    const result = plan(snapshot({ pools: [{ ...web, floor: 1, ceiling: 1 }], runners: [older, newer, starting] }), settings, now);
    expect(kinds(result.actions)).toEqual([`delete ${starting.name}`, `delete ${newer.name}`]);
    expect(result.actions[0]).toMatchObject({ outcome: "surplus" });
  });

  it("scales up to queued jobs above the floor, capped by the ceiling", () => {
    const burst: PoolSpec = { ...web, floor: 1, ceiling: 6, idleTimeoutMs: 5 * minute };
    const idle = runner("idle");
    const result = plan(snapshot({ pools: [burst], runners: [idle], demand: new Map([["web", 20]]) }), settings, now);
    expect(kinds(result.actions)).toEqual(Array(5).fill("spawn web"));
    expect(result.pools[0]).toMatchObject({ queued: 20 });
    const some = plan(snapshot({ pools: [burst], runners: [idle, runner("busy")], demand: new Map([["web", 3]]) }), settings, now);
    expect(kinds(some.actions)).toEqual(["spawn web", "spawn web"]);
  });

  it("keeps runners above the floor until they were idle for idle_timeout, then removes the longest idle", () => {
    const burst: PoolSpec = { ...web, floor: 1, ceiling: 6, idleTimeoutMs: 5 * minute };
    const a = runner("idle", { phaseSince: now - 6 * minute });
    const b = runner("idle", { phaseSince: now - 7 * minute });
    const c = runner("idle", { phaseSince: now - 1 * minute });
    const result = plan(snapshot({ pools: [burst], runners: [a, b, c] }), settings, now);
    expect(kinds(result.actions)).toEqual([`delete ${b.name}`, `delete ${a.name}`]);
    expect(result.actions[0]).toMatchObject({ outcome: "surplus" });
    // A queued job keeps them all.
    expect(plan(snapshot({ pools: [burst], runners: [a, b, c], demand: new Map([["web", 3]]) }), settings, now).actions).toEqual([]);
    // Not yet timed out: nothing now, and a wake-up when the first one does.
    const fresh = runner("idle", { phaseSince: now - 2 * minute });
    const waiting = plan(snapshot({ pools: [burst], runners: [fresh, c] }), settings, now);
    expect(waiting.actions).toEqual([]);
    expect(waiting.requeueAfterMs).toBe(3 * minute);
  });

  it("shares the host cap between pools with queued jobs so that neither starves", () => {
    const p1: PoolSpec = { ...web, floor: 0, ceiling: 6, idleTimeoutMs: minute };
    const p2: PoolSpec = { ...api, floor: 0, ceiling: 6, idleTimeoutMs: minute };
    const result = plan(snapshot({ pools: [p1, p2], demand: new Map([["web", 10], ["api", 10]]) }), { ...settings, maxRunners: 4 }, now);
    expect(kinds(result.actions).sort()).toEqual(["spawn api", "spawn api", "spawn web", "spawn web"]);
    expect(result.pools.map((p) => p.blocked)).toEqual(["host-cap", "host-cap"]);
  });

  it("under the host cap, gives a tied slot to the pool served least recently", () => {
    const p1: PoolSpec = { ...web, floor: 0, ceiling: 4, idleTimeoutMs: minute };
    const p2: PoolSpec = { ...api, floor: 0, ceiling: 4, idleTimeoutMs: minute };
    const busy = (pool: string) => runner("busy", { pool });
    const demand = new Map([["web", 5], ["api", 5]]);
    // One slot free, both pools at one runner: the one that spawned longer ago gets it.
    const apiServedLast = plan(snapshot({ pools: [p1, p2], runners: [busy("web"), busy("api")], demand, lastSpawnAt: new Map([["web", now - 5000], ["api", now - 1000]]) }), { ...settings, maxRunners: 3 }, now);
    expect(kinds(apiServedLast.actions)).toEqual(["spawn web"]);
    const webServedLast = plan(snapshot({ pools: [p1, p2], runners: [busy("web"), busy("api")], demand, lastSpawnAt: new Map([["web", now - 1000], ["api", now - 5000]]) }), { ...settings, maxRunners: 3 }, now);
    expect(kinds(webServedLast.actions)).toEqual(["spawn api"]);
  });

  it("drains a pool that left the configuration: idle go, busy finish, stopped are collected", () => {
    const idle = runner("idle", { pool: "old" });
    const starting = runner("starting", { pool: "old" });
    const busy = runner("busy", { pool: "old" });
    const stopped = runner("stopped", { pool: "old" });
    const result = plan(snapshot({ pools: [], runners: [idle, starting, busy, stopped] }), settings, now);
    expect(kinds(result.actions)).toEqual([`delete ${idle.name}`, `delete ${starting.name}`, `collect ${stopped.name}`]);
    expect(result.actions[0]).toMatchObject({ outcome: "pool-removed" });
  });

  it("spawns nothing without a token and says why", () => {
    const result = plan(snapshot({ tokenExpiry: new Map() }), settings, now);
    expect(result.actions).toEqual([]);
    expect(result.pools[0]?.blocked).toBe("token-missing");
  });

  it("spawns JIT pools without any pushed token, and reports no token expiry for them", () => {
    const jit: PoolSpec = { ...web, credential: "jit" };
    const stale = new Map([["repo:acme/web", now + minute]]);
    const result = plan(snapshot({ pools: [jit], tokenExpiry: stale }), settings, now);
    expect(kinds(result.actions)).toEqual(["spawn web", "spawn web"]);
    expect(result.pools[0]?.blocked).toBeUndefined();
    expect(result.pools[0]?.tokenExpiresAt).toBeUndefined();
    const none = plan(snapshot({ pools: [jit], tokenExpiry: new Map() }), settings, now);
    expect(kinds(none.actions)).toEqual(["spawn web", "spawn web"]);
  });

  it("spawns nothing with a token that expires within the minimum validity", () => {
    const result = plan(snapshot({ tokenExpiry: new Map([["repo:acme/web", now + 4 * minute]]) }), settings, now);
    expect(result.actions).toEqual([]);
    expect(result.pools[0]).toMatchObject({ blocked: "token-expiring", tokenExpiresAt: now + 4 * minute });
  });

  it("looks again when the token becomes too old", () => {
    const result = plan(snapshot({ pools: [{ ...web, floor: 0, ceiling: 0 }], tokenExpiry: new Map([["repo:acme/web", now + 20 * minute]]) }), settings, now);
    expect(result.requeueAfterMs).toBeUndefined();
    const wanting = plan(snapshot({ runners: [runner("idle")], tokenExpiry: new Map([["repo:acme/web", now + 20 * minute]]) }), settings, now);
    expect(wanting.requeueAfterMs).toBe(15 * minute);
  });

  it("still collects and times out runners while waiting for a token", () => {
    const stopped = runner("stopped");
    const result = plan(snapshot({ runners: [stopped], tokenExpiry: new Map() }), settings, now);
    expect(kinds(result.actions)).toEqual([`collect ${stopped.name}`]);
  });

  it("waits out a spawn backoff and says so", () => {
    const result = plan(snapshot({ backoffUntil: new Map([["web", now + 4000]]) }), settings, now);
    expect(result.actions).toEqual([]);
    expect(result.pools[0]?.blocked).toBe("backoff");
    expect(result.requeueAfterMs).toBe(4000);
    const later = plan(snapshot({ backoffUntil: new Map([["web", now - 1]]) }), settings, now);
    expect(kinds(later.actions)).toEqual(["spawn web", "spawn web"]);
  });

  it("spawns nothing from an image whose runner version GitHub refuses, before any backoff, but still trims and collects", () => {
    const stopped = runner("stopped");
    const result = plan(snapshot({ pools: [web, api], runners: [stopped], deprecated: new Set(["web"]), backoffUntil: new Map([["web", now + 4000]]) }), settings, now);
    expect(kinds(result.actions)).toEqual([`collect ${stopped.name}`, "spawn api", "spawn api", "spawn api"]);
    expect(result.pools.map((p) => p.blocked)).toEqual(["runner-deprecated", undefined]);
    // demand does not lift it either
    const queued = plan(snapshot({ demand: new Map([["web", 2]]), deprecated: new Set(["web"]) }), settings, now);
    expect(queued.actions).toEqual([]);
    expect(queued.pools[0]).toMatchObject({ blocked: "runner-deprecated", queued: 2 });
  });

  it("spawns nothing while shutting down but still collects", () => {
    const stopped = runner("stopped");
    const result = plan(snapshot({ runners: [stopped], shuttingDown: true }), settings, now);
    expect(kinds(result.actions)).toEqual([`collect ${stopped.name}`]);
    expect(result.pools[0]?.blocked).toBe("shutting-down");
  });

  it("respects the host-wide cap, counting busy runners of every pool", () => {
    const busy = [runner("busy"), runner("busy", { pool: "api" })];
    const result = plan(snapshot({ pools: [{ ...web, ceiling: 4 }, api], runners: busy }), { ...settings, maxRunners: 4 }, now);
    expect(result.actions.filter((a) => a.kind === "spawn")).toHaveLength(2);
  });

  it("shares the last free slots fairly between pools", () => {
    const result = plan(snapshot({ pools: [web, api] }), { ...settings, maxRunners: 3 }, now);
    const spawns = result.actions.filter((a) => a.kind === "spawn").map((a) => a.pool);
    expect(spawns.filter((p) => p === "web")).toHaveLength(1);
    expect(spawns.filter((p) => p === "api")).toHaveLength(2);
    expect(result.pools.every((p) => p.blocked === "host-cap")).toBe(true);
  });

  it("gives a starved pool the free slot before a pool that already has runners", () => {
    const result = plan(snapshot({ pools: [web, api], runners: [runner("busy"), runner("idle")] }), { ...settings, maxRunners: 3 }, now);
    expect(kinds(result.actions)).toEqual(["spawn api"]);
  });

  it("counts draining runners against the host cap until they are gone", () => {
    const result = plan(snapshot({ runners: [runner("busy", { pool: "old" })] }), { ...settings, maxRunners: 2 }, now);
    expect(result.actions.filter((a) => a.kind === "spawn")).toHaveLength(1);
  });

  it("is deterministic: the same input gives the same plan", () => {
    const input = snapshot({ pools: [web, api], runners: [runner("stopped"), runner("busy", { pool: "api" })] });
    expect(plan(input, settings, now)).toEqual(plan(input, settings, now));
  });

  describe("rolling to a new image", () => {
    const rolled = (runners: ObservedRunner[]) =>
      plan(snapshot({ runners, poolImages: new Map([["web", "new"]]) }), settings, now);

    it("replaces idle and starting runners of the old image, in the same pass", () => {
      const result = rolled([runner("idle", { name: "old-idle", image: "old" }), runner("starting", { name: "old-start", image: "old" })]);
      expect(kinds(result.actions)).toEqual(["delete old-idle", "delete old-start", "spawn web", "spawn web"]);
      expect(result.actions[0]).toMatchObject({ outcome: "image-updated", reason: expect.stringMatching(/image is now new/) });
    });

    it("lets busy runners of the old image finish their job", () => {
      const result = rolled([runner("busy", { name: "old-busy", image: "old" }), runner("idle", { image: "new" }), runner("idle", { image: "new" })]);
      expect(kinds(result.actions)).toEqual([]);
    });

    it("leaves runners alone while the pool's image is unknown", () => {
      const result = plan(snapshot({ runners: [runner("idle", { image: "old" }), runner("idle", { image: "old" })] }), settings, now);
      expect(result.actions).toEqual([]);
    });
  });
});
