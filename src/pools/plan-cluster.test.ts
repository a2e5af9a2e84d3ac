// The plan on a cluster: placement (target, spread, per-member cap), evacuated members, and
// runners on a member that went offline (counted until written off, then replaced).
import { describe, expect, it } from "vitest";
import { plan } from "./plan.js";
import type { Action, MemberView, ObservedRunner, PlanSettings, PoolSpec, Snapshot } from "./types.js";

const now = 1_800_000_000_000;
const minute = 60_000;
const settings: PlanSettings = {
  maxRunners: 30,
  bootTimeoutMs: 5 * minute,
  jobTimeoutMs: 360 * minute,
  tokenMinValidityMs: 5 * minute,
  startingPollMs: 500,
  finishingTimeoutMs: minute,
  memberOfflineTimeoutMs: 30_000,
};
const web: PoolSpec = { name: "web", scope: "repo:acme/web", floor: 3, ceiling: 6, credential: "jit" };
const online = (name: string, groups: string[] = ["default"]): MemberView => ({ name, state: "online", groups });
const three = [online("m1"), online("m2"), online("m3")];

function snapshot(over: Partial<Snapshot> = {}): Snapshot {
  return { pools: [web], runners: [], tokenExpiry: new Map(), backoffUntil: new Map(), shuttingDown: false, members: three, ...over };
}

let serial = 0;
function runner(phase: ObservedRunner["phase"], member: string, over: Partial<ObservedRunner> = {}): ObservedRunner {
  serial++;
  return { name: `rd-web-${serial}`, pool: "web", phase, createdAt: now - minute, phaseSince: now - minute, member, ...over };
}

const spawns = (actions: Action[]) => actions.filter((a): a is Extract<Action, { kind: "spawn" }> => a.kind === "spawn");

describe("plan on a cluster", () => {
  it("leaves placement to the server's scheduler by default, marking the spawn as clustered", () => {
    const result = plan(snapshot(), settings, now);
    expect(spawns(result.actions)).toHaveLength(3);
    for (const s of spawns(result.actions)) {
      expect(s.clustered).toBe(true);
      expect(s.target).toBeUndefined();
    }
    expect(result.members?.map((m) => m.name)).toEqual(["m1", "m2", "m3"]);
  });

  it("marks nothing clustered on a single server", () => {
    const result = plan(snapshot({ members: [] }), settings, now);
    for (const s of spawns(result.actions)) expect(s.clustered).toBeUndefined();
    expect(result.members).toBeUndefined();
  });

  it("spreads a pool's runners over the members that hold the fewest of them", () => {
    const spread: PoolSpec = { ...web, placement: { spread: true } };
    const result = plan(snapshot({ pools: [spread], runners: [runner("idle", "m1"), runner("busy", "m1"), runner("idle", "m2")] }), settings, now);
    // Floor 3 with two idle: one more, on m3 (holds none); then m2 and m3 would be next.
    expect(spawns(result.actions).map((s) => s.target)).toEqual(["m3"]);
  });

  it("spreads a burst round the members", () => {
    const spread: PoolSpec = { ...web, floor: 6, placement: { spread: true } };
    const result = plan(snapshot({ pools: [spread] }), settings, now);
    expect(spawns(result.actions).map((s) => s.target)).toEqual(["m1", "m2", "m3", "m1", "m2", "m3"]);
  });

  it("passes a pool's target member or group on as it is", () => {
    const onM2: PoolSpec = { ...web, placement: { target: "m2", spread: false } };
    expect(spawns(plan(snapshot({ pools: [onM2] }), settings, now).actions).map((s) => s.target)).toEqual(["m2", "m2", "m2"]);
    const onGpu: PoolSpec = { ...web, placement: { target: "@gpu", spread: false } };
    const members = [online("m1"), online("m2", ["default", "gpu"]), online("m3")];
    expect(spawns(plan(snapshot({ pools: [onGpu], members }), settings, now).actions).map((s) => s.target)).toEqual(["@gpu", "@gpu", "@gpu"]);
  });

  it("spreads within a target group only", () => {
    const pool: PoolSpec = { ...web, floor: 4, placement: { target: "@fast", spread: true } };
    const members = [online("m1", ["fast"]), online("m2"), online("m3", ["fast"])];
    expect(spawns(plan(snapshot({ pools: [pool], members }), settings, now).actions).map((s) => s.target)).toEqual(["m1", "m3", "m1", "m3"]);
  });

  it("blocks a pool whose target member is offline or evacuated, and says why", () => {
    const onM2: PoolSpec = { ...web, placement: { target: "m2", spread: false } };
    const members: MemberView[] = [online("m1"), { name: "m2", state: "evacuated", groups: ["default"] }, online("m3")];
    const result = plan(snapshot({ pools: [onM2], members }), settings, now);
    expect(spawns(result.actions)).toEqual([]);
    expect(result.pools[0]?.blocked).toBe("no-member");
  });

  it("respects a per-member cap across pools, placing on the least loaded member", () => {
    const capped = { ...settings, maxRunnersPerMember: 2 };
    const runners = [runner("busy", "m1"), runner("busy", "m1"), runner("idle", "m2")];
    const result = plan(snapshot({ runners, pools: [{ ...web, floor: 5, ceiling: 10 }] }), capped, now);
    // m1 is full; m2 has room for one, m3 for two: four wanted, three placed.
    expect(spawns(result.actions).map((s) => s.target)).toEqual(["m3", "m2", "m3"]);
    expect(result.pools[0]?.blocked).toBe("member-cap");
  });

  it("places nothing on an evacuated member and drains its runners that have no job; busy ones finish", () => {
    const members: MemberView[] = [online("m1"), { name: "m2", state: "evacuated", groups: ["default"] }];
    const idle = runner("idle", "m2");
    const busy = runner("busy", "m2");
    const pool: PoolSpec = { ...web, floor: 1, placement: { spread: true } };
    const result = plan(snapshot({ pools: [pool], members, runners: [idle, busy] }), settings, now);
    expect(result.actions).toContainEqual(expect.objectContaining({ kind: "delete", runner: idle.name, outcome: "member-evacuated" }));
    expect(result.actions.some((a) => a.kind !== "spawn" && a.runner === busy.name)).toBe(false);
    expect(spawns(result.actions).map((s) => s.target)).toEqual(["m1"]);
  });

  it("counts runners on an offline member as they were until the timeout, acting on none of them", () => {
    const members: MemberView[] = [online("m1"), { name: "m2", state: "offline", groups: ["default"], offlineSince: now - 10_000 }, online("m3")];
    const stuck = runner("starting", "m2", { createdAt: now - 10 * minute }); // past its boot timeout
    const runners = [runner("idle", "m2"), runner("idle", "m2"), stuck];
    const result = plan(snapshot({ members, runners }), settings, now);
    // No collect or delete reaches an offline member; the one past its boot timeout is replaced.
    expect(result.actions.map((a) => a.kind)).toEqual(["spawn"]);
    expect(result.lost).toBeUndefined();
    // It looks again when the timeout comes due.
    expect(result.requeueAfterMs).toBeLessThanOrEqual(20_000);
  });

  it("writes off the runners of a member offline past the timeout and replaces them on live members", () => {
    const members: MemberView[] = [online("m1"), { name: "m2", state: "offline", groups: ["default"], offlineSince: now - 31_000 }, online("m3")];
    const lostIdle = runner("idle", "m2");
    const lostBusy = runner("busy", "m2", { job: "build" });
    const pool: PoolSpec = { ...web, placement: { spread: true } };
    const result = plan(snapshot({ pools: [pool], members, runners: [lostIdle, lostBusy, runner("idle", "m1")] }), settings, now);
    expect(result.lost?.map((r) => r.name)).toEqual([lostIdle.name, lostBusy.name]);
    expect(result.actions.some((a) => a.kind !== "spawn")).toBe(false);
    expect(spawns(result.actions).map((s) => s.target)).toEqual(["m3", "m1"]);
    expect(result.members?.find((m) => m.name === "m2")).toMatchObject({ state: "offline", runners: 0, lost: 2 });
  });
});
