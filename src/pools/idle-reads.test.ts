import { afterEach, describe, expect, it } from "vitest";
import { demandLingerMs, idleQuietRecheckMs, idleRecheckMs, IdleReads } from "./idle-reads.js";
import { paths } from "./ownership.js";
import { Reconciler, type ReconcilerStatus } from "./reconciler.js";
import { FakeLxd, FakeTokens, fakeHistory, poolRuntime, reconcilerSettings, silentLogger, until } from "./test-support.js";

const start = 1_800_000_000_000;

describe("IdleReads", () => {
  it("reads as before a pool runnerd has heard no job of, and one whose job is queued or was a moment ago", () => {
    const reads = new IdleReads();
    reads.update(undefined, start);
    expect(reads.intervalFor("web", "rd-web-a", start)).toBe(idleRecheckMs);
    reads.update(new Map([["web", 0]]), start);
    expect(reads.intervalFor("web", "rd-web-a", start)).toBe(idleRecheckMs);
    reads.update(new Map([["web", 2]]), start);
    reads.update(new Map(), start + 1000);
    expect(reads.intervalFor("web", "rd-web-a", start + demandLingerMs - 1)).toBe(idleRecheckMs);
    expect(reads.intervalFor("api", "rd-api-a", start + demandLingerMs)).toBe(idleRecheckMs);
    // A long resync interval lengthens the wait: the resync may be the next pass.
    expect(reads.intervalFor("web", "rd-web-a", start + 1000 + demandLingerMs)).toBeGreaterThan(idleRecheckMs);
    expect(reads.intervalFor("web", "rd-web-a", start + 1000 + demandLingerMs, 120_000)).toBe(idleRecheckMs);
  });

  it("spreads a quiet pool's re-reads over the second half of the quiet interval, the same for a runner every time", () => {
    const reads = new IdleReads();
    reads.update(new Map([["web", 1]]), start);
    const at = start + demandLingerMs;
    const intervals = Array.from({ length: 200 }, (_, i) => reads.intervalFor("web", `rd-web-${i.toString(36)}`, at));
    for (const ms of intervals) expect(ms >= idleQuietRecheckMs / 2 && ms < idleQuietRecheckMs).toBe(true);
    expect(new Set(intervals.map((ms) => Math.floor((ms / idleQuietRecheckMs) * 10))).size).toBe(5);
    expect(reads.intervalFor("web", "rd-web-0", at + 60_000)).toBe(intervals[0]);
  });
});

describe("Reconciler: idle runners' status reads", () => {
  let reconciler: Reconciler | undefined;
  afterEach(async () => void (await reconciler?.shutdown()));

  function world(demand: Map<string, number> | undefined, resyncIntervalMs = 15_000) {
    const clock = { t: start };
    const lxd = new FakeLxd();
    const tokens = new FakeTokens();
    tokens.set("repo:acme/web", start + 86_400_000);
    const statuses: ReconcilerStatus[] = [];
    reconciler = new Reconciler(
      { lxd, tokens, history: fakeHistory(), ...(demand ? { demand: () => demand } : {}), logger: silentLogger, now: () => clock.t, agentScript: "#!/bin/sh\n", onStatus: (s) => void statuses.push(s) },
      reconcilerSettings([poolRuntime("web", { floor: 1, ceiling: 1 })], { resyncIntervalMs }),
    );
    lxd.addRunner("rd-web-a", "web", { createdAt: start - 60_000, agent: { state: "idle", at: start - 30_000 } });
    const r = reconciler;
    const pass = async (afterMs: number) => {
      clock.t += afterMs;
      const n = statuses.length;
      r.requestPass("test");
      await until(() => statuses.length > n, "a pass");
    };
    const reads = () => lxd.count(`pull ${paths.status}`);
    const phase = () => statuses.at(-1)?.runners.find((x) => x.name === "rd-web-a")?.phase;
    return { clock, lxd, reconciler: r, pass, reads, phase, statuses };
  }

  it("reads an idle runner of a quiet pool only every few minutes, and at once when a webhook names it", async () => {
    const demand = new Map([["web", 1]]);
    const w = world(demand);
    await w.pass(0);
    await w.pass(idleRecheckMs); // a job is queued: read as before
    expect(w.reads()).toBe(2);
    demand.set("web", 0);
    await w.pass(demandLingerMs);
    w.lxd.setAgent("rd-web-a", "busy", w.clock.t);
    await w.pass(60_000);
    expect(w.reads()).toBe(2);
    expect(w.phase()).toBe("idle");
    w.reconciler.runnerTookJob("rd-web-a");
    await until(() => w.phase() === "busy", "the runner seen busy");
    expect(w.reads()).toBe(3);
  });

  it("still reads an idle runner of a quiet pool once the quiet interval is over", async () => {
    const demand = new Map([["web", 1]]);
    const w = world(demand);
    await w.pass(0);
    demand.set("web", 0);
    w.lxd.setAgent("rd-web-a", "busy", w.clock.t + demandLingerMs);
    await w.pass(demandLingerMs);
    expect(w.phase()).toBe("idle");
    await w.pass(idleQuietRecheckMs);
    expect(w.phase()).toBe("busy");
  });

  it("keeps reading a pool that just handed out a job until a resync has come, however long the resync interval", async () => {
    const demand = new Map([["web", 1]]);
    const w = world(demand, 60_000);
    await w.pass(0);
    demand.set("web", 0);
    w.lxd.setAgent("rd-web-a", "busy", w.clock.t);
    await w.pass(60_000); // the resync, past demandLingerMs
    expect(w.phase()).toBe("busy");
  });

  it("reads the idle runners of a pool whose jobs it hears nothing of every idleRecheckMs, as before", async () => {
    const w = world(undefined);
    await w.pass(0);
    w.lxd.setAgent("rd-web-a", "busy", w.clock.t);
    await w.pass(idleRecheckMs);
    expect(w.reads()).toBe(2);
    expect(w.phase()).toBe("busy");
  });
});
