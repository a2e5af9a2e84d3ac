// runnerd's own clock: the status file is written inside the container, where a job is root, so
// its `at` may be anything. Phase times are clamped between the instance's creation and the pass
// that first saw the phase; the timeouts the plan derives from them hold.
import { describe, expect, it } from "vitest";
import { PoolBackoff } from "./backoff.js";
import { observeRunners, type CachedStatus } from "./observe.js";
import { paths } from "./ownership.js";
import { plan } from "./plan.js";
import { SnapshotObserver } from "./snapshot.js";
import { FakeLxd, FakeTokens, poolRuntime, reconcilerSettings, silentLogger } from "./test-support.js";
import type { PlanSettings, Snapshot } from "./types.js";

const now = 1_800_000_000_000;
const created = now - 10 * 60_000;
const settings: PlanSettings = { maxRunners: 10, bootTimeoutMs: 300_000, jobTimeoutMs: 3_600_000, tokenMinValidityMs: 300_000, startingPollMs: 500, finishingTimeoutMs: 60_000 };

function world() {
  const lxd = new FakeLxd();
  const cache = new Map<string, CachedStatus>();
  lxd.addRunner("rd-web-1", "web", { createdAt: created });
  /** Writes the status file as a job can: any state, any `at` (seconds). */
  const forge = (state: string, at: string) => lxd.instances.get("rd-web-1")?.files.set(paths.status, `state=${state}\nat=${at}\n`);
  const observe = async (at: number) => {
    const seen = await observeRunners(lxd, new FakeTokens(), "test", new Map(), cache, { now: at, idleRecheckMs: 2000 });
    return { runner: seen.runners[0], transitions: seen.transitions };
  };
  return { lxd, cache, forge, observe };
}

function planAt(runners: Snapshot["runners"], at: number) {
  const pool = { name: "web", scope: "repo:acme/web", floor: 0, ceiling: 1, credential: "jit" as const };
  return plan({ pools: [pool], runners, tokenExpiry: new Map(), backoffUntil: new Map(), shuttingDown: false }, settings, at);
}

describe("observe: phase times on runnerd's clock", () => {
  it("a forged busy at 9999999999 starts the job when runnerd first saw it, and the job timeout still comes", async () => {
    const w = world();
    w.forge("busy", "9999999999");
    const first = await w.observe(now);
    expect(first.runner).toMatchObject({ phase: "busy", phaseSince: now });
    expect(first.transitions[0]?.status.since).toBe(now); // the history gets the clamped time too
    expect(planAt([first.runner!], now).requeueAfterMs).toBe(3_600_000);
    // Later passes keep the first sight, whatever the file says meanwhile.
    w.forge("busy", "9999999999");
    const later = await w.observe(now + 3_600_000);
    expect(later.runner?.phaseSince).toBe(now);
    expect(planAt([later.runner!], now + 3_600_000).actions).toEqual([expect.objectContaining({ kind: "collect", outcome: "job-timeout", forceStop: true })]);
  });

  it("a forged busy far in the past counts from the instance's creation, no earlier", async () => {
    const w = world();
    w.forge("busy", "1");
    const { runner } = await w.observe(now);
    expect(runner?.phaseSince).toBe(created);
    expect(planAt([runner!], created + 3_600_000 - 1).actions).toEqual([]);
    expect(planAt([runner!], created + 3_600_000).actions).toEqual([expect.objectContaining({ outcome: "job-timeout" })]);
  });

  it("keeps the file's time for a runner that went busy between two passes", async () => {
    const w = world();
    w.lxd.setAgent("rd-web-1", "idle", now - 5000);
    expect((await w.observe(now)).runner).toMatchObject({ phase: "idle", phaseSince: now - 5000 });
    w.lxd.setAgent("rd-web-1", "busy", now + 1000);
    const { runner, transitions } = await w.observe(now + 2000);
    expect(runner).toMatchObject({ phase: "busy", phaseSince: now + 1000 });
    expect(transitions).toEqual([{ runner: "rd-web-1", pool: "web", status: { state: "busy", since: now + 1000 } }]);
  });

  it("never dates a phase before the one runnerd saw before it", async () => {
    const w = world();
    w.lxd.setAgent("rd-web-1", "idle", now - 5000);
    await w.observe(now);
    w.forge("busy", String(Math.floor(created / 1000)));
    expect((await w.observe(now + 2000)).runner?.phaseSince).toBe(now - 5000);
  });

  it("a forged finished in the future is force-stopped a finishing deadline after runnerd first saw it", async () => {
    const w = world();
    w.forge("finished", "9999999999");
    const { runner } = await w.observe(now);
    expect(runner).toMatchObject({ phase: "finishing", phaseSince: now });
    expect(planAt([runner!], now + 59_999).actions).toEqual([]);
    expect(planAt([runner!], now + 60_000).actions).toEqual([expect.objectContaining({ kind: "collect", forceStop: true, outcome: "finishing-timeout" })]);
  });

  it("clamps by the real clock when called without one (runnerd status)", async () => {
    const lxd = new FakeLxd();
    lxd.addRunner("rd-web-1", "web", { createdAt: Date.now() - 60_000, agent: { state: "busy", at: 9_999_999_999_000 } });
    const before = Date.now();
    const { runners } = await observeRunners(lxd, new FakeTokens(), "test", new Map(), new Map());
    expect(runners[0]?.phaseSince).toBeGreaterThanOrEqual(before);
    expect(runners[0]?.phaseSince).toBeLessThanOrEqual(Date.now());
  });
});

describe("SnapshotObserver.assumeBusy", () => {
  it("takes runnerd's clock, not a future time from the file, and reads the file again after a while", async () => {
    const clock = { t: now };
    const lxd = new FakeLxd();
    lxd.addRunner("rd-web-1", "web", { createdAt: created, agent: { state: "idle", at: now - 60_000 } });
    const backoff = new PoolBackoff({ now: () => clock.t, random: () => 0.5 });
    const observer = new SnapshotObserver({ lxd, tokens: new FakeTokens(), inFlight: () => new Map(), lastSpawnAt: () => new Map(), backoff, now: () => clock.t });
    const s = reconcilerSettings([poolRuntime("web", { floor: 0 }, "jit")]);
    await observer.observe(s, now, false, silentLogger);
    // A delete found the file saying busy, at a time the job chose.
    observer.assumeBusy("rd-web-1", 9_999_999_999_000);
    const assumed = await observer.observe(s, now + 1000, false, silentLogger);
    expect(assumed.snapshot.runners[0]).toMatchObject({ phase: "busy", phaseSince: now });
    const reads = lxd.count("pull");
    await observer.observe(s, now + 9000, false, silentLogger);
    expect(lxd.count("pull")).toBe(reads);
    lxd.setAgent("rd-web-1", "busy", 9_999_999_999_000);
    const reread = await observer.observe(s, now + 10_000, false, silentLogger);
    expect(lxd.count("pull")).toBe(reads + 1);
    expect(reread.snapshot.runners[0]).toMatchObject({ phase: "busy", phaseSince: now });
  });
});

describe("observe: a spawn that finishes while LXD lists the instances", () => {
  // LXD answers with the instances as it read them: the spawn's instance made but not started.
  async function listedMidSpawn(listsIt: boolean) {
    const lxd = new FakeLxd();
    for (let i = 1; i <= 5; i++) lxd.addRunner(`rd-web-${i}`, "web", { createdAt: created, agent: { state: "busy", at: Math.floor(now / 1000) } });
    if (listsIt) lxd.addRunner("rd-web-6", "web", { createdAt: now - 2000, status: "Stopped" });
    const inFlight = new Map([["rd-web-6", { kind: "spawn" as const, pool: "web", startedAt: now - 3000 }]]);
    const list = lxd.listInstances.bind(lxd);
    lxd.listInstances = async (filter) => {
      const answer = await list(filter);
      inFlight.delete("rd-web-6"); // the spawn's start returned before the answer was read
      return answer;
    };
    return observeRunners(lxd, new FakeTokens(), "test", inFlight, new Map(), { now, idleRecheckMs: 2000 });
  }

  it.each([true, false])("still counts it toward the ceiling (listed: %s), so the plan spawns none beyond", async (listsIt) => {
    const { runners } = await listedMidSpawn(listsIt);
    expect(runners.find((r) => r.name === "rd-web-6")?.phase).toBe("creating");
    const pool = { name: "web", scope: "repo:acme/web", floor: 1, ceiling: 6, credential: "jit" as const };
    const demand = new Map([["web", 20]]);
    const result = plan({ pools: [pool], runners, tokenExpiry: new Map(), backoffUntil: new Map(), shuttingDown: false, demand }, settings, now);
    expect(result.actions.filter((a) => a.kind === "spawn")).toHaveLength(0);
    expect(result.actions.filter((a) => a.kind === "collect")).toHaveLength(0);
  });
});

describe("observe: a busy runner's status is read again", () => {
  it("sees `finished` written after a long job by an agent kept from powering off, so the finishing deadline applies", async () => {
    const w = world();
    w.forge("busy", String(Math.floor(now / 1000)));
    expect((await w.observe(now)).runner).toMatchObject({ phase: "busy" });
    w.forge("finished", String(Math.floor(now / 1000) + 30));
    expect((await w.observe(now + 5_000)).runner?.phase).toBe("busy"); // not yet: read every 10 s
    const later = await w.observe(now + 31_000);
    expect(later.runner).toMatchObject({ phase: "finishing", phaseSince: now + 30_000 });
    expect(later.transitions.map((t) => t.status.state)).toEqual(["finished"]);
    expect(planAt([later.runner!], now + 90_000).actions).toEqual([expect.objectContaining({ kind: "collect", outcome: "finishing-timeout", forceStop: true })]);
  });

  it("stops reading it after a read hung (a FIFO the job left); its job timeout still applies", async () => {
    const w = world();
    w.forge("busy", String(Math.floor(now / 1000)));
    await w.observe(now);
    w.lxd.hangingReads.add(paths.status);
    const before = w.lxd.count(`pull ${paths.status}`);
    await w.observe(now + 11_000);
    await w.observe(now + 22_000);
    expect(w.lxd.count(`pull ${paths.status}`) - before).toBe(1);
    expect(w.cache.get("rd-web-1")).toMatchObject({ state: "busy", hung: true });
  }, 15_000);
});
