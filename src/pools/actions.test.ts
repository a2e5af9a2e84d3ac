import { describe, expect, it, vi } from "vitest";
import { GitHubError, LxdError } from "../errors.js";
import { RunnerActions } from "./actions.js";
import { PoolBackoff } from "./backoff.js";
import { paths } from "./ownership.js";
import { DeprecatedPools } from "./deprecation.js";
import type { RegistrarPort } from "./ports.js";
import type { PoolRuntime } from "./settings.js";
import { FakeLxd, FakeRegistrar, FakeTokens, fakeHistory, fakeObserver, jitKeys, poolRuntime, reconcilerSettings, silentLogger } from "./test-support.js";

const now = 1_800_000_000_000;

function world(pools: PoolRuntime[] = [poolRuntime("web")], opts: { registrar?: RegistrarPort | null } = {}) {
  const lxd = new FakeLxd();
  const tokens = new FakeTokens();
  tokens.set("repo:acme/web", now + 3_600_000);
  const history = fakeHistory();
  const observer = fakeObserver();
  const registrar = new FakeRegistrar();
  const backoff = new PoolBackoff({ now: () => now, random: () => 0.5 });
  const deprecated = new DeprecatedPools();
  const settings = reconcilerSettings(pools);
  const tookJob: [string, number][] = [];
  const actions = new RunnerActions(
    { lxd, tokens, history, observer, now: () => now, agentScript: "#!/bin/sh\n", ...(opts.registrar === null ? {} : { registrar: opts.registrar ?? registrar }) },
    { settings: () => settings, backoff, deprecated, shuttingDown: () => false, tookJob: (runner, at) => void tookJob.push([runner, at]) },
  );
  return { lxd, tokens, history, observer, registrar, backoff, deprecated, actions, tookJob };
}

const result = (outcome: string, over: object = {}) => ({ exit_code: 0, outcome, job_seen: false, job_name: "", error: "", started_at: now / 1000 - 60, configured_at: null, listening_at: null, job_started_at: null, finished_at: now / 1000, ...over });
const collectAction = (runner: string, over: object = {}) => ({ kind: "collect" as const, pool: "web", runner, reason: "instance stopped", forceStop: false, ...over });

describe("RunnerActions.spawn", () => {
  it("creates and starts a runner with the pool's token", async () => {
    const w = world();
    await w.actions.spawn("web", "rd-web-1", silentLogger);
    expect(w.lxd.calls).toEqual(["create rd-web-1", "start rd-web-1"]);
    expect(w.history.of("recordRunnerCreated")).toHaveLength(1);
    expect(w.backoff.get("web")).toBeUndefined();
  });

  it("skips a push pool whose token is gone since the plan, recording nothing", async () => {
    const w = world();
    w.tokens.tokens.clear();
    await w.actions.spawn("web", "rd-web-1", silentLogger);
    expect(w.lxd.calls).toEqual([]);
    expect(w.history.calls).toEqual([]);
  });

  it("records spawn-failed, backs off and releases the JIT registration when LXD refuses", async () => {
    const w = world([poolRuntime("web", {}, "jit")]);
    w.lxd.createErrors.set("*", new LxdError("create instance: LXD answered 500: disk full", 500));
    await w.actions.spawn("web", "rd-web-1", silentLogger);
    expect(w.history.of("recordRunnerResult")).toEqual([["rd-web-1", expect.objectContaining({ outcome: "spawn-failed", detail: expect.stringMatching(/disk full/) })]]);
    expect(w.history.of("markRunnerDeleted")).toHaveLength(1);
    expect(w.history.of("addEvent")).toEqual([[expect.objectContaining({ kind: "spawn-failed", level: "error", runner: "rd-web-1" })]]);
    expect(w.registrar.deleted).toEqual([{ connection: "main", scope: "repo:acme/web", runnerId: 100 }]);
    expect(w.observer.failures).toEqual(["lxd spawn"]);
    // 500 is transient: the first step of the exponential
    expect(w.backoff.get("web")).toMatchObject({ count: 1, until: now + 750, terminal: false });
  });

  it("sends a pool whose image is missing straight to the cap", async () => {
    const w = world();
    w.lxd.createErrors.set("*", new LxdError("create instance: LXD operation failed: Image not found", 404));
    await w.actions.spawn("web", "rd-web-1", silentLogger);
    expect(w.backoff.get("web")).toMatchObject({ count: 7, until: now + 45_000, terminal: true });
  });

  it("does not touch LXD when GitHub refuses the JIT config, and classifies the refusal", async () => {
    const w = world([poolRuntime("web", {}, "jit")]);
    w.registrar.jitError = new GitHubError("GitHub refused to create a JIT runner config: 422", 422);
    await w.actions.spawn("web", "rd-web-1", silentLogger);
    expect(w.lxd.calls).toEqual([]);
    expect(w.observer.failures).toEqual(["github spawn"]);
    expect(w.backoff.get("web")).toMatchObject({ terminal: true });
    expect(w.registrar.deleted).toEqual([]);
  });

  it("refuses a JIT pool when runnerd has no GitHub client, as a terminal failure", async () => {
    const w = world([poolRuntime("web", {}, "jit")], { registrar: null });
    await w.actions.spawn("web", "rd-web-1", silentLogger);
    expect(w.lxd.calls).toEqual([]);
    expect(w.history.of("recordRunnerResult")[0]?.[1]).toMatchObject({ outcome: "spawn-failed", detail: expect.stringMatching(/no GitHub client for connection main/) });
    expect(w.backoff.get("web")).toMatchObject({ terminal: true });
  });

  it("leaves the registration of a half-made instance it could not remove for the collect", async () => {
    const w = world([poolRuntime("web", {}, "jit")]);
    w.lxd.startInstance = async () => {
      throw new LxdError("start: LXD operation failed: proxy device", 400);
    };
    w.lxd.deleteInstance = async () => {
      throw new LxdError("delete: LXD not reached", 0);
    };
    await w.actions.spawn("web", "rd-web-1", silentLogger);
    expect(w.history.of("markRunnerDeleted")).toEqual([]);
    expect(w.registrar.deleted).toEqual([]);
    // Not recorded yet: what LXD holds settles it. Here a pass finds it stopped, never started.
    expect(w.history.of("recordRunnerResult")).toEqual([]);
    w.lxd.deleteInstance = async (name) => void w.lxd.instances.delete(name);
    w.actions.noteObserved([{ name: "rd-web-1", pool: "web", phase: "stopped", createdAt: now, githubRunnerId: 100, connection: "main", scope: "repo:acme/web" }], []);
    await w.actions.collect(collectAction("rd-web-1"), silentLogger);
    expect(w.history.of("recordRunnerResult")).toEqual([["rd-web-1", expect.objectContaining({ outcome: "spawn-failed", detail: expect.stringMatching(/proxy device .*never started it/) })]]);
    expect(w.registrar.deleted.map((r) => r.runnerId)).toEqual([100]);
    expect(w.backoff.get("web")?.count).toBe(7); // a 400 goes to the cap at once; counted once, at the spawn
  });
});

/** A runner that succeeded, on an LXD that has not processed its stop yet: reading its result hangs. */
function slowStopWorld() {
  const w = world();
  w.lxd.addRunner("rd-web-1", "web", { status: "Stopped", createdAt: now - 60_000, result: result("succeeded", { job_seen: true }) });
  w.lxd.hangingReads.add(paths.result);
  w.lxd.hangMs = 1;
  w.lxd.unprocessedStops.add("rd-web-1");
  return w;
}

describe("RunnerActions.collect", () => {
  it("records the outcome and keeps the registration of a runner that ran its job (GitHub removed it)", async () => {
    const w = world();
    w.lxd.addRunner("rd-web-1", "web", { status: "Stopped", createdAt: now - 60_000, extra: jitKeys(7), result: result("succeeded", { job_seen: true, listening_at: now / 1000 - 30, job_started_at: now / 1000 - 20, job_name: "build" }) });
    w.actions.noteObserved([{ name: "rd-web-1", pool: "web", phase: "stopped", createdAt: now - 60_000, githubRunnerId: 7, connection: "main", scope: "repo:acme/web" }], []);
    await w.actions.collect(collectAction("rd-web-1"), silentLogger);
    expect(w.history.of("recordRunnerResult")).toEqual([["rd-web-1", expect.objectContaining({ outcome: "succeeded", jobSeen: true })]]);
    expect(w.history.of("markRunnerBusy")).toEqual([["rd-web-1", new Date(now - 20_000), "build"]]);
    expect(w.lxd.instances.has("rd-web-1")).toBe(false);
    expect(w.registrar.deleted).toEqual([]);
    expect(w.backoff.get("web")).toBeUndefined();
  });

  it("puts off, at most three times, a collection whose result read hangs while LXD has not processed the stop", async () => {
    const w = slowStopWorld();
    for (let i = 0; i < 3; i++) await w.actions.collect(collectAction("rd-web-1"), silentLogger);
    expect(w.lxd.instances.has("rd-web-1")).toBe(true);
    expect(w.history.of("markRunnerStopped")).toHaveLength(1);
    expect(w.history.of("recordRunnerResult")).toEqual([]);
    await w.actions.collect(collectAction("rd-web-1"), silentLogger); // the fourth records what it has
    expect(w.lxd.instances.has("rd-web-1")).toBe(false);
    expect(w.history.of("recordRunnerResult")).toEqual([["rd-web-1", expect.objectContaining({ outcome: "lost", detail: expect.stringMatching(/reading result.json failed/) })]]);
  });

  it("never puts off a collection with a planned outcome (a timeout would be recorded as something else later)", async () => {
    const w = slowStopWorld();
    await w.actions.collect(collectAction("rd-web-1", { forceStop: true, outcome: "job-timeout", reason: "job ran for 6h" }), silentLogger);
    expect(w.lxd.instances.has("rd-web-1")).toBe(false);
    expect(w.history.of("recordRunnerResult")).toEqual([["rd-web-1", expect.objectContaining({ outcome: "job-timeout" })]]);
  });

  it("collects a put-off runner once LXD has processed its stop, with its result", async () => {
    const w = slowStopWorld();
    await w.actions.collect(collectAction("rd-web-1"), silentLogger);
    w.lxd.hangingReads.clear();
    w.lxd.unprocessedStops.clear();
    await w.actions.collect(collectAction("rd-web-1"), silentLogger);
    expect(w.history.of("recordRunnerResult")).toEqual([["rd-web-1", expect.objectContaining({ outcome: "succeeded", jobSeen: true })]]);
    expect(w.history.of("markRunnerStopped")).toHaveLength(1);
  });

  it("releases the registration of a runner that did not finish a job, and backs off when it never listened", async () => {
    const w = world();
    w.lxd.addRunner("rd-web-1", "web", { status: "Stopped", createdAt: now - 60_000, result: result("config-failed", { error: "token refused" }) });
    w.actions.noteObserved([{ name: "rd-web-1", pool: "web", phase: "stopped", createdAt: now - 60_000, githubRunnerId: 7, connection: "main", scope: "repo:acme/web" }], []);
    await w.actions.collect(collectAction("rd-web-1"), silentLogger);
    expect(w.registrar.deleted).toEqual([{ connection: "main", scope: "repo:acme/web", runnerId: 7 }]);
    expect(w.backoff.get("web")).toMatchObject({ count: 1, terminal: false, message: "runner rd-web-1 ended without a job (config-failed: token refused)" });
    expect(w.history.of("addEvent")).toEqual([[expect.objectContaining({ kind: "config-failed", level: "warn" })]]);
  });

  it("records a planned boot timeout as such, and backs the pool off: the runner never got to a job", async () => {
    const w = world();
    w.lxd.addRunner("rd-web-1", "web", { status: "Running", createdAt: now - 600_000 });
    await w.actions.collect(collectAction("rd-web-1", { forceStop: true, outcome: "boot-timeout", reason: "not listening after 10m" }), silentLogger);
    expect(w.lxd.calls.slice(0, 1)).toEqual(["stop rd-web-1"]);
    expect(w.history.of("recordRunnerResult")[0]?.[1]).toMatchObject({ outcome: "boot-timeout", detail: "not listening after 10m" });
    expect(w.backoff.get("web")).toMatchObject({ count: 1, message: "runner rd-web-1 ended without a job (boot-timeout: not listening after 10m)" });
  });

  it("records a planned job timeout without backing the pool off: the runner had its job", async () => {
    const w = world();
    w.lxd.addRunner("rd-web-1", "web", { status: "Running", createdAt: now - 600_000 });
    await w.actions.collect(collectAction("rd-web-1", { forceStop: true, outcome: "job-timeout", reason: "job ran for 6h" }), silentLogger);
    expect(w.backoff.get("web")).toBeUndefined();
  });

  it("backs the pool off for a runner that listened and then ended without a job", async () => {
    const w = world();
    w.lxd.addRunner("rd-web-1", "web", { status: "Stopped", createdAt: now - 60_000, result: result("no-job", { listening_at: now / 1000 - 30 }) });
    await w.actions.collect(collectAction("rd-web-1"), silentLogger);
    expect(w.backoff.get("web")).toMatchObject({ count: 1, terminal: false, message: "runner rd-web-1 ended without a job (no-job)" });
  });

  it("does not back off for a runner a pass saw busy, even when its result is lost", async () => {
    const w = world();
    w.lxd.addRunner("rd-web-1", "web", { status: "Stopped", createdAt: now - 60_000 });
    w.actions.noteObserved([{ name: "rd-web-1", pool: "web", phase: "busy", createdAt: now - 60_000, phaseSince: now - 30_000 }], []);
    await w.actions.collect(collectAction("rd-web-1"), silentLogger);
    expect(w.history.of("recordRunnerResult")[0]?.[1]).toMatchObject({ outcome: "lost" });
    expect(w.backoff.get("web")).toBeUndefined();
  });
});

describe("RunnerActions.remove", () => {
  const surplus = { kind: "delete" as const, pool: "web", runner: "rd-web-1", reason: "above the floor", outcome: "surplus" as const };
  const jitRunner = (w: ReturnType<typeof world>, agent = "idle") => {
    w.lxd.addRunner("rd-web-1", "web", { createdAt: now - 60_000, agent: { state: agent, at: now - 1000 }, extra: jitKeys(9) });
    w.actions.noteObserved([{ name: "rd-web-1", pool: "web", phase: "idle", createdAt: now - 60_000, githubRunnerId: 9, connection: "main", scope: "repo:acme/web" }], []);
  };

  it("push mode: does not delete a runner that turned busy since the plan saw it idle", async () => {
    const w = world();
    w.lxd.addRunner("rd-web-1", "web", { createdAt: now - 60_000, agent: { state: "busy", at: now - 1000 } });
    await w.actions.remove(surplus, silentLogger);
    expect(w.lxd.instances.has("rd-web-1")).toBe(true);
    expect(w.lxd.count("delete")).toBe(0);
    expect(w.history.calls).toEqual([]);
    expect(w.tookJob).toEqual([["rd-web-1", now - 1000]]);
  });

  it("push mode: deletes an idle runner and records it", async () => {
    const w = world();
    w.lxd.addRunner("rd-web-1", "web", { createdAt: now - 60_000, agent: { state: "idle", at: now - 1000 } });
    await w.actions.remove(surplus, silentLogger);
    expect(w.lxd.instances.has("rd-web-1")).toBe(false);
    expect(w.history.of("recordRunnerResult")[0]?.[1]).toMatchObject({ outcome: "surplus", detail: "above the floor" });
    expect(w.registrar.asked).toEqual([]);
  });

  it("JIT: deletes the registration first (204), then the instance, and asks GitHub once", async () => {
    const w = world();
    jitRunner(w);
    const order: string[] = [];
    const del = w.registrar.deleteRegistration.bind(w.registrar);
    w.registrar.deleteRegistration = async (r) => (order.push("registration"), del(r));
    const delInstance = w.lxd.deleteInstance.bind(w.lxd);
    w.lxd.deleteInstance = async (n) => (order.push("instance"), delInstance(n));
    await w.actions.remove(surplus, silentLogger);
    expect(order).toEqual(["registration", "instance"]);
    expect(w.registrar.asked).toEqual([9]);
    expect(w.lxd.instances.has("rd-web-1")).toBe(false);
    expect(w.history.of("recordRunnerResult")[0]?.[1]).toMatchObject({ outcome: "surplus" });
    // no agent status read: GitHub's answer is the check
    expect(w.lxd.calls).toEqual(["delete rd-web-1"]);
  });

  it("JIT: keeps a runner whose registration GitHub refuses to delete (422: it runs a job)", async () => {
    const w = world();
    jitRunner(w);
    w.registrar.busy.add(9);
    await w.actions.remove(surplus, silentLogger);
    expect(w.lxd.instances.has("rd-web-1")).toBe(true);
    expect(w.lxd.count("delete")).toBe(0);
    expect(w.history.calls).toEqual([]);
    expect(w.tookJob).toEqual([["rd-web-1", now]]);
    expect(w.observer.failures).toEqual([]);
  });

  it("JIT: a registration that is gone already (404) lets the instance go", async () => {
    const w = world();
    jitRunner(w);
    w.registrar.gone.add(9);
    await w.actions.remove(surplus, silentLogger);
    expect(w.lxd.instances.has("rd-web-1")).toBe(false);
    expect(w.registrar.asked).toEqual([9]);
  });

  it("JIT: a registration gone because the runner ran a job meanwhile (GitHub removed it) leaves the runner to be collected", async () => {
    const w = world();
    jitRunner(w, "finished");
    w.registrar.gone.add(9);
    await w.actions.remove(surplus, silentLogger);
    expect(w.lxd.instances.has("rd-web-1")).toBe(true);
    expect(w.history.calls).toEqual([]);
    expect(w.tookJob).toEqual([["rd-web-1", now - 1000]]);
  });

  it("JIT: when GitHub cannot answer, falls back to the agent's status, and deletes the registration after the instance", async () => {
    const w = world();
    jitRunner(w);
    w.registrar.deleteError = new GitHubError("GitHub could not be reached", 0);
    await w.actions.remove(surplus, silentLogger);
    expect(w.lxd.instances.has("rd-web-1")).toBe(false);
    expect(w.registrar.asked).toEqual([9, 9]);
    expect(w.observer.failures).toEqual(["github delete-registration", "github delete-registration"]);
  });

  it("JIT: when GitHub cannot answer and the agent says busy, keeps the runner", async () => {
    const w = world();
    jitRunner(w, "busy");
    w.registrar.deleteError = new GitHubError("GitHub could not be reached", 0);
    await w.actions.remove(surplus, silentLogger);
    expect(w.lxd.instances.has("rd-web-1")).toBe(true);
    expect(w.registrar.asked).toEqual([9]);
  });

  it("JIT: a runner whose registration runnerd deleted, but whose instance survived, is no failure when it ends", async () => {
    const w = world();
    jitRunner(w);
    w.lxd.deleteInstance = async () => {
      throw new LxdError("delete: LXD not reached", 0);
    };
    w.lxd.stopInstance = async () => undefined;
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const removing = expect(w.actions.remove(surplus, silentLogger)).rejects.toThrow(/LXD not reached/);
    await vi.runAllTimersAsync(); // deleteInstance's retries
    await removing;
    vi.useRealTimers();
    expect(w.registrar.asked).toEqual([9]);
    // The runner learns its registration is gone and ends on its own ("no longer exists on the server").
    const instance = w.lxd.instances.get("rd-web-1");
    if (instance) instance.status = "Stopped";
    w.lxd.addRunner("rd-web-1", "web", { status: "Stopped", createdAt: now - 60_000, extra: jitKeys(9), result: result("no-job", { listening_at: now / 1000 - 30 }) });
    w.actions.noteObserved([{ name: "rd-web-1", pool: "web", phase: "stopped", createdAt: now - 60_000, githubRunnerId: 9, connection: "main", scope: "repo:acme/web" }], []);
    w.lxd.deleteInstance = async (name) => void w.lxd.instances.delete(name);
    await w.actions.collect(collectAction("rd-web-1"), silentLogger);
    expect(w.backoff.get("web")).toBeUndefined();
    expect(w.registrar.asked).toEqual([9]); // not deleted a second time
  });
});

describe("RunnerActions.noteObserved", () => {
  it("records listening and busy transitions in the history and the metrics", () => {
    const w = world();
    w.actions.noteObserved([], [
      { runner: "rd-web-1", pool: "web", status: { state: "idle", since: now - 2000 } },
      { runner: "rd-web-2", pool: "web", status: { state: "busy", since: now - 1000, job: "test" } },
      { runner: "rd-web-3", pool: "web", status: { state: "configuring", since: now } },
    ]);
    expect(w.history.calls).toEqual([
      ["markRunnerListening", "rd-web-1", new Date(now - 2000)],
      ["markRunnerBusy", "rd-web-2", new Date(now - 1000), "test"],
    ]);
    expect(w.observer.listening).toEqual(["web"]);
  });
});
