// Issue 13, items 1 and 3: a persistent spawn failure (a full storage pool) in a pool that still
// has a live runner backs off instead of retrying on every pass, and says so on every status
// sample; a create or start whose answer was lost is settled from what LXD holds.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LxdError } from "../errors.js";
import { LostSpawns, settledAsFailed } from "./lost-spawns.js";
import { Reconciler, type ReconcilerStatus } from "./reconciler.js";
import type { PoolRuntime } from "./settings.js";
import { answerMayBeLost } from "./spawn.js";
import { FakeLxd, FakeTokens, fakeHistory, poolRuntime, reconcilerSettings, silentLogger, until } from "./test-support.js";

const start = 1_800_000_000_000;
const diskFull = () => new LxdError("create instance: Failed creating instance from image: Failed to run: zfs create: cannot create 'default/containers/x': No space left on device", 500);
const lxdGone = () => new LxdError("LXD at /var/lib/lxd/unix.socket not reached: connect ECONNREFUSED (ECONNREFUSED)", 0, { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });

function world(pools: PoolRuntime[]) {
  const clock = { t: start };
  const lxd = new FakeLxd();
  const tokens = new FakeTokens();
  for (const p of pools) tokens.set(p.spec.scope, start + 24 * 3_600_000);
  const history = fakeHistory();
  const statuses: ReconcilerStatus[] = [];
  let serial = 0;
  const reconciler = new Reconciler(
    { lxd, tokens, history, logger: silentLogger, now: () => clock.t, random: () => 0.5, agentScript: "#!/bin/sh\n", onStatus: (s) => void statuses.push(s), newName: (prefix, pool) => `${prefix}-${pool}-${++serial}` },
    reconcilerSettings(pools),
  );
  const advance = async (ms: number) => {
    clock.t += ms;
    await vi.advanceTimersByTimeAsync(ms);
  };
  const pool = (name: string) => statuses.at(-1)?.pools.find((p) => p.name === name);
  const results = (runner: string) => history.of("recordRunnerResult").filter(([name]) => name === runner).map(([, r]) => r as { outcome: string; detail?: string });
  const events = (kind: string) => history.of("addEvent").map(([e]) => e as { kind: string; runner?: string; message: string }).filter((e) => e.kind === kind);
  return { clock, lxd, history, reconciler, statuses, advance, pool, results, events };
}

describe("a storage pool that fills up while the pool still has a live runner", () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] }));
  afterEach(() => void vi.useRealTimers());

  it("backs off to a handful of creates a minute, records one event, shows the reason on every sample, and resumes once space is back", async () => {
    const w = world([poolRuntime("web", { floor: 2, ceiling: 3 })]);
    // Listening since long before the disk filled, and all along.
    w.lxd.addRunner("rd-web-old", "web", { createdAt: start - 3_600_000, agent: { state: "idle", at: start - 3_000_000 } });
    w.lxd.createErrors.set("*", diskFull());
    w.reconciler.start();
    await until(() => w.pool("web")?.failures === 1 && w.reconciler.inFlightNames().length === 0, "the first failure");
    const firstSample = w.statuses.length;
    const perMinute: number[] = [];
    for (let minute = 0; minute < 10; minute++) {
      const before = w.lxd.count("create");
      for (let s = 0; s < 60; s++) {
        // Events, resyncs and the idle runner's status reads: a pass every second, as in the bug.
        w.reconciler.requestPass("poll");
        await w.advance(1000);
        await until(() => w.reconciler.inFlightNames().length === 0, "spawns to finish");
      }
      perMinute.push(w.lxd.count("create") - before);
    }
    // 1, 2, 4, … 60 s bounds (a 0.5 draw waits 3/4 of each): 8 in the first minute, then one or two.
    expect(perMinute[0]).toBeLessThanOrEqual(9);
    for (const n of perMinute.slice(1)) expect(n).toBeLessThanOrEqual(2);
    expect(w.pool("web")?.failures).toBeGreaterThanOrEqual(14);
    // One event for the whole episode (the same failure again is no news); every attempt's runner has its result.
    expect(w.events("spawn-failed")).toHaveLength(1);
    expect(w.events("spawn-failed")[0]?.message).toMatch(/No space left on device/);
    const attempts = w.lxd.calls.filter((c) => c.startsWith("create ")).map((c) => c.slice("create ".length));
    for (const name of attempts) expect(w.results(name).map((r) => r.outcome), name).toEqual(["spawn-failed"]);
    // Every status sample since the first failure carries the reason and the count.
    for (const status of w.statuses.slice(firstSample)) {
      const web = status.pools.find((p) => p.name === "web");
      expect(web?.lastError?.message).toMatch(/No space left on device/);
      expect(web?.failures).toBeGreaterThanOrEqual(1);
      expect(web?.backoffReason).toBe("spawn-lxd");
    }

    // Space is freed: the next attempt works; the pool is back to full strength at its next retry.
    w.lxd.createErrors.clear();
    const freedAt = w.clock.t;
    let listeningAt: number | undefined;
    while (listeningAt === undefined) {
      await w.advance(1000);
      w.reconciler.requestPass("poll");
      await until(() => w.reconciler.inFlightNames().length === 0, "spawns to finish");
      const fresh = [...w.lxd.instances].find(([name, i]) => name !== "rd-web-old" && i.status === "Running");
      if (fresh) {
        w.lxd.setAgent(fresh[0], "idle", w.clock.t);
        listeningAt = w.clock.t;
      }
    }
    expect(listeningAt - freedAt).toBeLessThanOrEqual(61_000);
    // Proof after 90 s of listening: the backoff ends, with one event saying so.
    await w.advance(91_000);
    w.reconciler.requestPass("poll");
    await until(() => w.pool("web")?.failures === undefined, "the reset");
    expect(w.pool("web")?.backoffReason).toBeUndefined();
    expect(w.events("backoff-ended")).toHaveLength(1);
    await w.reconciler.shutdown();
  });
});

describe("a create or start whose answer was lost", () => {
  it("create made the instance, the answer was lost: the next pass finds it never started and records the spawn as failed, once", async () => {
    const w = world([poolRuntime("web", { floor: 1, ceiling: 1 })]);
    w.lxd.lostAnswers.add("create rd-web-1");
    w.reconciler.start();
    await until(() => w.pool("web")?.failures === 1 && w.reconciler.inFlightNames().length === 0, "the failure");
    w.reconciler.requestPass("poll");
    await until(() => w.results("rd-web-1").length === 1 && !w.lxd.instances.has("rd-web-1"), "the leftover collected");
    expect(w.results("rd-web-1")[0]).toMatchObject({ outcome: "spawn-failed", detail: expect.stringMatching(/LXD held the instance but never started it/) });
    expect(w.pool("web")?.failures).toBe(1); // counted once, at the spawn
    await w.reconciler.shutdown();
  });

  it("create's answer lost and nothing made: settled as failed from a listing taken after the failure", async () => {
    const w = world([poolRuntime("web", { floor: 1, ceiling: 1 })]);
    w.lxd.createErrors.set("rd-web-1", new LxdError("create instance rd-web-1: LXD not reached: socket hang up (ECONNRESET)", 0, { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) }));
    w.reconciler.start();
    await until(() => w.pool("web")?.failures === 1 && w.reconciler.inFlightNames().length === 0, "the failure");
    expect(w.results("rd-web-1")).toEqual([]);
    for (let i = 0; i < 3; i++) {
      w.reconciler.requestPass("poll");
      await until(() => w.reconciler.inFlightNames().length === 0 && w.statuses.length >= 3 + i, `pass ${i}`);
    }
    expect(w.results("rd-web-1")).toEqual([expect.objectContaining({ outcome: "spawn-failed", detail: expect.stringMatching(/LXD holds no instance of it/) })]);
    expect(w.history.of("markRunnerDeleted").filter(([n]) => n === "rd-web-1")).toHaveLength(1);
    await w.reconciler.shutdown();
  });

  it("start ran, LXD died before answering: the runner that then runs a job is recorded as succeeded, never spawn-failed", async () => {
    const w = world([poolRuntime("web", { floor: 1, ceiling: 1 })]);
    const real = { list: w.lxd.listInstances.bind(w.lxd), stop: w.lxd.stopInstance.bind(w.lxd), del: w.lxd.deleteInstance.bind(w.lxd) };
    let down = false;
    w.lxd.listInstances = async (f) => (down ? Promise.reject(lxdGone()) : real.list(f));
    w.lxd.stopInstance = async (n: string) => (down ? Promise.reject(lxdGone()) : real.stop(n));
    w.lxd.deleteInstance = async (n) => (down ? Promise.reject(lxdGone()) : real.del(n));
    const start_ = w.lxd.startInstance.bind(w.lxd);
    w.lxd.startInstance = async (name) => {
      down = true; // LXD dies right after starting it; its containers live on
      return start_(name);
    };
    w.lxd.lostAnswers.add("start rd-web-1");
    w.reconciler.start();
    // While LXD is down every pass fails to observe; the status keeps the last one.
    await until(() => w.lxd.calls.includes("start rd-web-1") && w.reconciler.inFlightNames().length === 0, "the failure");
    expect(w.lxd.instances.get("rd-web-1")?.status).toBe("Running");
    expect(w.results("rd-web-1")).toEqual([]);
    // LXD is back: the runner is adopted, listens, takes a job and finishes.
    w.lxd.startInstance = start_;
    down = false;
    w.lxd.setAgent("rd-web-1", "idle", start + 1000);
    w.reconciler.requestPass("LXD back");
    await until(() => w.statuses.at(-1)?.runners.find((r) => r.name === "rd-web-1")?.phase === "idle", "adopted and listening");
    w.clock.t += 3000; // an idle runner's status is read again after 2 s
    w.lxd.setAgent("rd-web-1", "busy", start + 2000);
    w.reconciler.requestPass("poll");
    await until(() => w.statuses.at(-1)?.runners.find((r) => r.name === "rd-web-1")?.phase === "busy", "busy");
    const instance = w.lxd.instances.get("rd-web-1");
    if (!instance) throw new Error("no rd-web-1");
    instance.status = "Stopped";
    instance.files.set("/var/lib/runnerd/result.json", JSON.stringify({ exit_code: 0, outcome: "succeeded", end: "job-done", job_seen: true, job_name: "build", error: "", started_at: 1, configured_at: 1, listening_at: 1, job_started_at: 2, finished_at: 3 }));
    w.reconciler.requestPass("instance-stopped");
    await until(() => w.results("rd-web-1").length > 0, "collected");
    expect(w.results("rd-web-1")).toEqual([expect.objectContaining({ outcome: "succeeded" })]);
    expect(w.lxd.instances.has("rd-web-1")).toBe(false);
    await w.reconciler.shutdown();
  });
});

describe("answerMayBeLost and LostSpawns", () => {
  const lost = (code: string) => new LxdError(`create: LXD not reached (${code})`, 0, { cause: Object.assign(new Error(code), { code }) });

  it("a reset, a deadline or an operation still running may have done the work; a refused connection or a real answer did not", () => {
    expect(answerMayBeLost(lost("ECONNRESET"))).toBe(true);
    expect(answerMayBeLost(lost("ETIMEDOUT"))).toBe(true);
    expect(answerMayBeLost(new LxdError("create: operation still Running after 60000 ms", 0))).toBe(true);
    expect(answerMayBeLost(lost("ECONNREFUSED"))).toBe(false);
    expect(answerMayBeLost(lost("ENOENT"))).toBe(false);
    expect(answerMayBeLost(diskFull())).toBe(false);
    expect(answerMayBeLost(new Error("x"))).toBe(false);
  });

  it("settles an absent instance only from a listing taken after the failure; a listed one is left to its collection", () => {
    const spawns = new LostSpawns();
    spawns.add("rd-a", "web", "reset", silentLogger);
    spawns.add("rd-b", "web", "reset", silentLogger);
    const b = { name: "rd-b", pool: "web", createdAt: start, phase: "stopped" as const };
    expect(spawns.observe([b])).toEqual([]); // this listing may predate the failure
    expect(spawns.observe([b]).map((s) => s.name)).toEqual(["rd-a"]);
    expect(spawns.observe([b])).toEqual([]);
    expect(settledAsFailed(spawns.take("rd-b"), false, undefined)).toMatch(/reset \(settled at its collection/);
    expect(spawns.size).toBe(0);
    spawns.add("rd-c", "web", "reset", silentLogger);
    spawns.observe([{ name: "rd-c", pool: "web", createdAt: start, phase: "idle" }]);
    expect(settledAsFailed(spawns.take("rd-c"), false, undefined)).toBeUndefined(); // it ran: its own result tells
  });
});
