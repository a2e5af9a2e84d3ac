// The plan against a job that controls its runner's status file: a runner that says "finished"
// but stays up holds its slot under every cap until it is force-stopped.
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
const web: PoolSpec = { name: "web", scope: "repo:acme/web", floor: 2, ceiling: 2, credential: "jit" };
const api: PoolSpec = { name: "api", scope: "repo:acme/api", floor: 2, ceiling: 2, credential: "jit" };

function snapshot(over: Partial<Snapshot> = {}): Snapshot {
  return { pools: [web], runners: [], tokenExpiry: new Map(), backoffUntil: new Map(), shuttingDown: false, ...over };
}

let serial = 0;
function runner(phase: ObservedRunner["phase"], over: Partial<ObservedRunner> = {}): ObservedRunner {
  serial++;
  return { name: `rd-web-${serial}`, pool: "web", phase, createdAt: now - 10 * minute, ...over };
}

const kinds = (actions: Action[]) => actions.map((a) => (a.kind === "spawn" ? `spawn ${a.pool}` : `${a.kind} ${a.runner}`));

describe("plan: finishing runners hold their slot", () => {
  it("counts toward the pool's ceiling: one finishing and one idle fill a ceiling of 2", () => {
    const result = plan(snapshot({ runners: [runner("finishing", { phaseSince: now - 1000 }), runner("idle")] }), settings, now);
    expect(result.actions).toEqual([]);
    expect(result.pools[0]).toMatchObject({ idle: 1, finishing: 1 });
    expect(result.pools[0]?.blocked).toBeUndefined();
  });

  it("counts toward the host's max_runners", () => {
    const wide = { ...web, ceiling: 5 };
    const finishing = [runner("finishing", { phaseSince: now - 1000 }), runner("finishing", { phaseSince: now - 1000 })];
    const result = plan(snapshot({ pools: [wide], runners: [...finishing, runner("idle")] }), { ...settings, maxRunners: 3 }, now);
    expect(result.actions).toEqual([]);
    expect(result.pools[0]?.blocked).toBe("host-cap");
    // One slot left: one spawn, not three.
    const roomier = plan(snapshot({ pools: [wide], runners: [...finishing, runner("idle")] }), { ...settings, maxRunners: 4 }, now);
    expect(kinds(roomier.actions)).toEqual(["spawn web"]);
  });

  it("counts a finishing runner of a pool that left the configuration toward the host cap, and stops it at the deadline", () => {
    const orphan = runner("finishing", { pool: "old", phaseSince: now - 30_000 });
    const waiting = plan(snapshot({ runners: [orphan] }), { ...settings, maxRunners: 2 }, now);
    expect(kinds(waiting.actions)).toEqual(["spawn web"]);
    expect(waiting.pools[0]?.blocked).toBe("host-cap");
    expect(waiting.requeueAfterMs).toBe(30_000);
    const late = plan(snapshot({ runners: [orphan] }), { ...settings, maxRunners: 2 }, now + 30_000);
    expect(late.actions[0]).toMatchObject({ kind: "collect", runner: orphan.name, forceStop: true, outcome: "finishing-timeout" });
  });

  it("counts in the pool's share when host slots are handed out", () => {
    // Both pools want 2 and one slot is free: api has nothing running, web has a runner still up.
    const demand = new Map([["web", 2], ["api", 2]]);
    const lastSpawnAt = new Map([["web", 1], ["api", 2]]); // a tie would go to web, served longest ago
    const result = plan(snapshot({ pools: [web, api], runners: [runner("finishing", { phaseSince: now - 1000 })], demand, lastSpawnAt }), { ...settings, maxRunners: 2 }, now);
    expect(kinds(result.actions)).toEqual(["spawn api"]);
  });

  it("holds the slot while timed out and being stopped in this pass; a stopped one frees it", () => {
    const stuck = runner("finishing", { phaseSince: now - 2 * minute });
    const result = plan(snapshot({ runners: [stuck, runner("idle")] }), settings, now);
    expect(kinds(result.actions)).toEqual([`collect ${stuck.name}`]);
    const stopped = plan(snapshot({ runners: [{ ...stuck, phase: "stopped" }, runner("idle")] }), settings, now);
    expect(kinds(stopped.actions)).toEqual([`collect ${stuck.name}`, "spawn web"]);
  });

  it("times the finishing deadline from the phase start observe gives it, or the creation without one", () => {
    const noTime = runner("finishing", { createdAt: now - 30_000 });
    expect(plan(snapshot({ runners: [noTime] }), settings, now).requeueAfterMs).toBe(30_000);
  });
});
