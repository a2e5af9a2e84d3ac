import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LxdError } from "../errors.js";
import { Reconciler, type ReconcilerStatus } from "./reconciler.js";
import type { PoolRuntime, ReconcilerSettings } from "./settings.js";
import { FakeLxd, FakeTokens, fakeHistory, poolRuntime, reconcilerSettings, settle, silentLogger, until } from "./test-support.js";

const start = 1_800_000_000_000;

function world(pools: PoolRuntime[], opts: { random?: number; settings?: Partial<ReconcilerSettings> } = {}) {
  const clock = { t: start };
  const lxd = new FakeLxd();
  const tokens = new FakeTokens();
  for (const p of pools) tokens.set(p.spec.scope, start + 24 * 3_600_000);
  const history = fakeHistory();
  const statuses: ReconcilerStatus[] = [];
  let serial = 0;
  const reconciler = new Reconciler(
    {
      lxd,
      tokens,
      history,
      logger: silentLogger,
      now: () => clock.t,
      random: () => opts.random ?? 0.5,
      agentScript: "#!/bin/sh\n",
      onStatus: (s) => void statuses.push(s),
      newName: (prefix, pool) => `${prefix}-${pool}-${++serial}`,
    },
    reconcilerSettings(pools, opts.settings),
  );
  /** Moves the injected clock and the fake timers together. */
  const advance = async (ms: number) => {
    clock.t += ms;
    await vi.advanceTimersByTimeAsync(ms);
  };
  const pool = (name: string) => statuses.at(-1)?.pools.find((p) => p.name === name);
  return { clock, lxd, tokens, history, reconciler, statuses, advance, pool };
}

describe("Reconciler loop", () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] }));
  afterEach(() => void vi.useRealTimers());

  it("merges requests that arrive during a pass into one more pass", async () => {
    const w = world([poolRuntime("web", { floor: 0 })]);
    const held = w.lxd.hold("list");
    w.reconciler.start();
    await held.reached;
    for (const reason of ["event", "token pushed", "SIGUSR1", "resync"]) w.reconciler.requestPass(reason);
    held.resolve();
    await until(() => w.statuses.length === 2, "two passes");
    await settle();
    expect(w.lxd.count("list")).toBe(2);
    w.reconciler.requestPass("later");
    await until(() => w.statuses.length === 3, "a third pass");
    await w.reconciler.shutdown();
  });

  it("skips a plan made from a snapshot taken before an action on the runner finished", async () => {
    const w = world([poolRuntime("web", { floor: 0 })]);
    w.lxd.addRunner("rd-web-old", "web", { status: "Stopped", createdAt: start - 60_000 });
    const deleting = w.lxd.hold("delete rd-web-old");
    w.reconciler.start();
    await deleting.reached; // pass 1 dispatched the collect, which now waits on LXD
    const listing = w.lxd.hold("list");
    w.reconciler.requestPass("poke");
    await listing.reached; // pass 2's listing still shows the stopped runner
    deleting.resolve();
    await until(() => w.reconciler.inFlightNames().length === 0, "the collect to finish");
    listing.resolve();
    await until(() => w.statuses.length >= 3, "the passes after the collect");
    await settle();
    // Pass 2 planned a second collect from its stale listing; it was not dispatched.
    expect(w.lxd.count("delete rd-web-old")).toBe(1);
    expect(w.history.of("recordRunnerResult").map((c) => c[0])).toEqual(["rd-web-old"]);
    await w.reconciler.shutdown();
  });

  it("lets a collect and the spawn of its replacement race, and ends the backoff once the replacement listens", async () => {
    const w = world([poolRuntime("web", { floor: 1 })]);
    w.lxd.addRunner("rd-web-old", "web", { status: "Stopped", createdAt: start - 60_000, result: { exit_code: 1, outcome: "config-failed", job_seen: false, job_name: "", error: "token refused", started_at: 0, configured_at: null, listening_at: null, job_started_at: null, finished_at: 0 } });
    const creating = w.lxd.hold("create rd-web-1");
    w.reconciler.start();
    await creating.reached;
    // The collect finishes while the spawn is still creating: the pool backs off…
    await until(() => w.lxd.count("delete rd-web-old") === 1 && w.reconciler.inFlightNames().length === 1, "the collect");
    await until(() => w.pool("web")?.lastError !== undefined, "the failure in the status");
    expect(w.pool("web")).toMatchObject({ lastError: { message: expect.stringMatching(/rd-web-old ended without a job \(config-failed/) }, failures: 1 });
    // …but the spawn under way goes on, and no second replacement is planned meanwhile.
    w.clock.t += 100;
    creating.resolve();
    await until(() => w.lxd.instances.get("rd-web-1")?.status === "Running", "the replacement to start");
    await settle();
    expect(w.lxd.count("create")).toBe(1);
    // The replacement was made before the failure was recorded; it listens after it, and once it
    // has stayed listening for a while (a pass is due then), the pool works.
    w.lxd.setAgent("rd-web-1", "idle", start + 2000);
    w.clock.t = start + 3000;
    w.reconciler.requestPass("poll");
    await until(() => w.pool("web")?.idle === 1, "the replacement listening");
    expect(w.pool("web")?.failures).toBe(1);
    const passes = w.statuses.length;
    await w.advance(89_000);
    await until(() => w.statuses.length > passes, "the pass due when the listener proves the pool");
    expect(w.pool("web")?.lastError).toBeUndefined();
    expect(w.history.of("markRunnerListening")).toEqual([["rd-web-1", new Date(start + 2000)]]);
    await w.reconciler.shutdown();
  });

});

describe("Reconciler shutdown", () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] }));
  afterEach(() => void vi.useRealTimers());

  it("waits for actions under way, and passes no more", async () => {
    const w = world([poolRuntime("web", { floor: 1 })]);
    const creating = w.lxd.hold("create");
    w.reconciler.start();
    await creating.reached;
    let done = false;
    const stopping = w.reconciler.shutdown(30_000).then(() => void (done = true));
    await settle();
    expect(done).toBe(false);
    const lists = w.lxd.count("list");
    creating.resolve();
    await stopping;
    expect(w.lxd.count("start")).toBe(1);
    w.reconciler.requestPass("after shutdown");
    await settle();
    expect(w.lxd.count("list")).toBe(lists);
  });

  it("gives up waiting after the timeout", async () => {
    const w = world([poolRuntime("web", { floor: 1 })]);
    const creating = w.lxd.hold("create");
    w.reconciler.start();
    await creating.reached;
    let done = false;
    const stopping = w.reconciler.shutdown(5000).then(() => void (done = true));
    await w.advance(4999);
    expect(done).toBe(false);
    await w.advance(1);
    await stopping;
    expect(w.reconciler.inFlightNames()).toEqual(["rd-web-1"]);
    creating.resolve();
  });
});

describe("Reconciler backoff", () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] }));
  afterEach(() => void vi.useRealTimers());

  it("keeps backing off while spawns fail, even with an older runner of the pool listening", async () => {
    const w = world([poolRuntime("web", { floor: 2 })]);
    w.lxd.addRunner("rd-web-old", "web", { createdAt: start - 3_600_000, agent: { state: "idle", at: start - 3_000_000 } });
    w.lxd.createErrors.set("*", new LxdError("create instance: LXD answered 500: no space left on device", 500));
    w.reconciler.start();
    await until(() => w.pool("web")?.failures === 1 && w.reconciler.inFlightNames().length === 0, "the first failure");
    await settle();
    // The pass the failed spawn asked for sees the old runner idle: still in backoff, no retry.
    expect(w.lxd.count("create")).toBe(1);
    expect(w.pool("web")).toMatchObject({ idle: 1, blocked: "backoff", failures: 1, retryAt: start + 750, lastError: { message: expect.stringMatching(/no space left/), at: start } });
    // The plan's deadline wakes the loop when the backoff ends: one retry, then a longer wait.
    await w.advance(750);
    await until(() => w.pool("web")?.failures === 2, "the second failure");
    expect(w.lxd.count("create")).toBe(2);
    expect(w.pool("web")?.retryAt).toBe(start + 750 + 1500);
    await w.advance(1000);
    expect(w.lxd.count("create")).toBe(2);
    await w.advance(500);
    await until(() => w.pool("web")?.failures === 3, "the third failure");
    expect(w.pool("web")?.retryAt).toBe(start + 2250 + 3000);
    await w.reconciler.shutdown();
  });

  it("sends a terminal failure straight to the cap and shows the reason on every pass meanwhile", async () => {
    const w = world([poolRuntime("web", { floor: 1 })], { random: 1 });
    w.lxd.createErrors.set("*", new LxdError("create instance: LXD operation failed: Image not found", 404));
    w.reconciler.start();
    await until(() => w.pool("web")?.failures !== undefined && w.reconciler.inFlightNames().length === 0, "the failure");
    expect(w.pool("web")).toMatchObject({ failures: 7, retryAt: start + 60_000, blocked: "backoff" });
    for (let i = 0; i < 3; i++) {
      const before = w.statuses.length;
      w.clock.t += 10_000;
      w.reconciler.requestPass("poke");
      await until(() => w.statuses.length > before, "a pass");
      expect(w.pool("web")).toMatchObject({ blocked: "backoff", lastError: { message: expect.stringMatching(/Image not found/) }, retryAt: start + 60_000 });
    }
    expect(w.lxd.count("create")).toBe(1);
    await w.reconciler.shutdown();
  });

  it("no hot loop: runners that listen and then end without a job make the pool wait longer each time, older idle runners or not", async () => {
    const w = world([poolRuntime("web", { floor: 2, ceiling: 3 })], { random: 1 });
    w.lxd.addRunner("rd-web-old", "web", { createdAt: start - 3_600_000, agent: { state: "idle", at: start - 3_000_000 } });
    const spawnedAt: number[] = [];
    const create = w.lxd.createInstance.bind(w.lxd);
    w.lxd.createInstance = async (request) => (spawnedAt.push(w.clock.t - start), create(request));
    w.reconciler.start();
    const failures: (number | undefined)[] = [];
    for (let cycle = 1; cycle <= 8; cycle++) {
      const name = `rd-web-${cycle}`;
      if (!w.lxd.instances.has(name)) await w.advance((w.pool("web")?.retryAt ?? w.clock.t) - w.clock.t);
      await until(() => w.lxd.instances.get(name)?.status === "Running" && w.reconciler.inFlightNames().length === 0, `${name} to start`);
      // It listens a second later; two seconds after that GitHub refuses it (or it updates itself and fails).
      await w.advance(1000);
      w.lxd.setAgent(name, "idle", w.clock.t);
      w.reconciler.requestPass("poll");
      await until(() => w.pool("web")?.idle === 2, `${name} listening`);
      await w.advance(2000);
      const instance = w.lxd.instances.get(name);
      if (!instance) throw new Error(`no ${name}`);
      instance.status = "Stopped";
      instance.files.set("/var/lib/runnerd/result.json", JSON.stringify({ exit_code: 0, outcome: "no-job", job_seen: false, job_name: "", error: "", started_at: 0, configured_at: 1, listening_at: 1, job_started_at: null, finished_at: 2 }));
      w.reconciler.requestPass("instance-stopped");
      // The collect writes the runner's logs to disk: give the file system time on a busy host.
      await until(() => w.pool("web")?.failures === cycle && w.reconciler.inFlightNames().length === 0, `failure ${cycle}`, 50_000);
      failures.push(w.pool("web")?.failures);
    }
    // Listening never resets the count, so the waits outgrow a runner's 3 s life and spawns thin
    // out exponentially. A replacement goes out in the pass that collects its predecessor, before
    // the failure is known: at most two runners per wait (at its end, and when that one is collected).
    expect(failures).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(spawnedAt).toEqual([0, 3000, 6000, 9000, 20_000, 23_000, 58_000, 61_000]);
    await w.reconciler.shutdown();
  });

  it("resets once a runner spawned after the failure has listened for a while, so the next failure starts small again", async () => {
    const w = world([poolRuntime("web", { floor: 1, ceiling: 2 })]);
    w.lxd.createErrors.set("*", new LxdError("create instance: LXD answered 503", 503));
    w.reconciler.start();
    await until(() => w.pool("web")?.failures === 1 && w.reconciler.inFlightNames().length === 0, "the first failure");
    w.lxd.createErrors.clear();
    await w.advance(750);
    await until(() => w.lxd.instances.get("rd-web-2")?.status === "Running", "the retry to start");
    expect(w.pool("web")?.failures).toBe(1); // starting is not listening
    w.lxd.setAgent("rd-web-2", "idle", w.clock.t);
    await w.advance(1000);
    w.reconciler.requestPass("poll");
    await until(() => w.pool("web")?.idle === 1, "the runner listening");
    expect(w.pool("web")?.failures).toBe(1); // listening for a second is not proof yet
    await w.advance(90_000);
    w.reconciler.requestPass("poll");
    await until(() => w.pool("web")?.failures === undefined, "the reset");
    expect(w.pool("web")?.lastError).toBeUndefined();
    await w.reconciler.shutdown();
  });
});

describe("Reconciler timers and a job that writes its own times", () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] }));
  afterEach(() => void vi.useRealTimers());
  const day = 86_400_000;

  it("an idle_timeout of 30 days does not overflow the next-pass timer into a hot loop", async () => {
    const w = world([poolRuntime("web", { floor: 0, idleTimeoutMs: 30 * day })], { settings: { resyncIntervalMs: 15_000 } });
    w.lxd.addRunner("rd-web-old", "web", { createdAt: start - 60_000, agent: { state: "idle", at: start - 30_000 } });
    w.reconciler.start();
    await until(() => w.statuses.length === 1, "the first pass");
    await w.advance(1000);
    expect(w.lxd.count("list")).toBe(1);
    // The deadline's timer is capped at the resync interval: one pass per interval, no more.
    await w.advance(14_000);
    expect(w.lxd.count("list")).toBeLessThanOrEqual(3);
    expect(w.lxd.count("delete")).toBe(0);
    await w.reconciler.shutdown();
  });

  it("a resync interval of 30 days does not overflow either", async () => {
    const w = world([poolRuntime("web", { floor: 0 })], { settings: { resyncIntervalMs: 30 * day } });
    w.reconciler.start();
    await until(() => w.statuses.length === 1, "the first pass");
    await w.advance(10_000);
    expect(w.lxd.count("list")).toBe(1);
    await w.reconciler.shutdown();
  });

  it("a forged busy at 9999999999 neither loops nor escapes the job timeout", async () => {
    const w = world([poolRuntime("web", { floor: 0, ceiling: 1 })], { settings: { resyncIntervalMs: 15_000 } });
    w.lxd.addRunner("rd-web-old", "web", { createdAt: start - 60_000, agent: { state: "busy", at: 9_999_999_999_000 } });
    w.reconciler.start();
    await until(() => w.pool("web")?.busy === 1, "the runner busy");
    await w.advance(1000);
    expect(w.lxd.count("list")).toBe(1);
    await w.advance(3_600_000 - 1000 - 15_000);
    expect(w.lxd.count("stop rd-web-old")).toBe(0);
    await w.advance(15_000);
    await until(() => w.history.of("recordRunnerResult").length === 1, "the job timeout");
    expect(w.lxd.count("stop rd-web-old")).toBe(1);
    expect(w.history.of("recordRunnerResult")[0]).toEqual(["rd-web-old", expect.objectContaining({ outcome: "job-timeout" })]);
    expect(w.lxd.count("list")).toBeLessThan(3_600_000 / 15_000 + 10);
    await w.reconciler.shutdown();
  });

  it("a runner that says finished and stays up holds its slot, and is force-stopped at the finishing deadline", async () => {
    const w = world([poolRuntime("web", { floor: 1, ceiling: 1 })]);
    w.lxd.addRunner("rd-web-old", "web", { createdAt: start - 60_000, agent: { state: "finished", at: 9_999_999_999_000 } });
    w.reconciler.start();
    await until(() => w.pool("web")?.finishing === 1, "the runner finishing");
    await w.advance(59_000);
    expect(w.lxd.count("create")).toBe(0); // at the ceiling while its instance runs
    expect(w.lxd.count("stop")).toBe(0);
    await w.advance(1000);
    await until(() => w.history.of("recordRunnerResult").length === 1, "the forced collect");
    expect(w.lxd.count("stop rd-web-old")).toBe(1);
    const [, result] = w.history.of("recordRunnerResult")[0] as [string, { outcome: string; detail: string }];
    expect(result).toMatchObject({ outcome: "finishing-timeout", detail: expect.stringMatching(/agent finished 60s ago but the instance is still running: force-stopped/) });
    expect(w.pool("web")).toMatchObject({ failures: 1 }); // it ended without a job
    await w.advance(1000);
    await until(() => w.lxd.count("create") === 1, "the replacement, once the slot is free");
    await w.reconciler.shutdown();
  });
});
