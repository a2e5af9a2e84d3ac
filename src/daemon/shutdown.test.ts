import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { scopeKey } from "../config/index.js";
import { createLogger } from "../log.js";
import { openStore } from "../store/index.js";
import { startDaemon, type Daemon } from "./daemon.js";
import { boundedShutdown, settledWithin, shutdownPhases, type ShutdownSteps } from "./shutdown.js";
import { pidFilePath } from "./state-files.js";
import { startHungLxd, type HungLxd } from "./test-support.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("shutdownPhases", () => {
  it("gives work half the bound, then a quarter to settle once LXD calls are aborted", () => {
    expect(shutdownPhases(20_000)).toEqual({ graceMs: 10_000, settleMs: 5_000 });
  });
});

describe("settledWithin", () => {
  it("tells whether the work settled in time, a failure counting as settled", async () => {
    expect(await settledWithin(Promise.resolve(), 10)).toBe(true);
    expect(await settledWithin(Promise.reject(new Error("boom")), 10)).toBe(true);
    expect(await settledWithin(new Promise(() => undefined), 10)).toBe(false);
  });
});

describe("boundedShutdown", () => {
  const silent = createLogger("silent");

  function steps(work: Promise<unknown>, abort: () => void = () => undefined): ShutdownSteps & { log: string[] } {
    const log: string[] = [];
    const started = performance.now();
    const at = () => Math.round((performance.now() - started) / 100) * 100;
    return {
      log,
      logger: silent,
      timeoutMs: 400,
      stopWork: () => work,
      inFlight: () => ["rd-web-1"],
      abortLxd: async () => {
        log.push(`abort at ${at()}`);
        abort();
      },
      closeStore: () => void log.push(`store closed at ${at()}`),
    };
  }

  it("closes the store as soon as the work under way is over", async () => {
    const s = steps(sleep(20));
    expect(await boundedShutdown(s)).toMatchObject({ aborted: false, abandoned: [] });
    expect(s.log).toEqual(["abort at 0", "store closed at 0"]);
  });

  it("aborts the LXD calls after the grace period and closes the store once the work has settled", async () => {
    let release = () => undefined as void;
    const work = new Promise<void>((resolve) => (release = resolve));
    const s = steps(work, () => void setTimeout(release, 20));
    expect(await boundedShutdown(s)).toMatchObject({ aborted: true, abandoned: [] });
    expect(s.log).toEqual(["abort at 200", "store closed at 200"]);
  });

  it("leaves work that does not end even when aborted, and still closes the store in time", async () => {
    const s = steps(new Promise(() => undefined));
    const report = await boundedShutdown(s);
    expect(report).toMatchObject({ aborted: true, abandoned: ["rd-web-1"] });
    expect(s.log).toEqual(["abort at 200", "store closed at 300"]);
    expect(report.ms).toBeLessThan(400);
  });
});

describe("the daemon's shutdown with LXD calls that never answer", () => {
  let lxd: HungLxd | undefined;
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.shutdown();
    await lxd?.close();
  });

  it("stops within shutdown_timeout, with a collect's file read and a spawn's create hanging, and leaves the runners", async () => {
    lxd = await startHungLxd({ shutdownTimeout: "2s" });
    const store = openStore(lxd.stateDir);
    store.setToken(scopeKey({ type: "repo", repo: "owner/name" }), "AAAA", new Date(Date.now() + 3_600_000), "test");
    store.close();
    daemon = await startDaemon({ configPath: lxd.configPath, logger: createLogger(process.env.SHUTDOWN_TEST_LOG ?? "silent"), runnerCheckDelayMs: 3_600_000, sweepDelayMs: 3_600_000, jobRecoveryDelayMs: 3_600_000 });
    await Promise.all([lxd.hanging(/^POST \/1\.0\/instances/), lxd.hanging(/rd-web-stopped\/files/)]);
    expect(daemon.reconciler.inFlightNames()).toHaveLength(3); // the stopped runner, two spawns

    const started = performance.now();
    await daemon.shutdown();
    const ms = performance.now() - started;
    // Half of shutdown_timeout for the actions, then their calls are aborted and they settle.
    expect(ms).toBeGreaterThan(900);
    expect(ms).toBeLessThan(2_000);
    // The calls LXD never answered were aborted (a graceful close would have left them open).
    for (let i = 0; i < 50 && lxd.openRequests() > 0; i++) await sleep(10);
    expect(lxd.openRequests()).toBe(0);
    expect(existsSync(pidFilePath(lxd.stateDir))).toBe(false);
    // Nothing was deleted: the next start collects the stopped runner (no DELETE ever reached LXD).
    expect(lxd.hung.filter((h) => h.startsWith("DELETE"))).toEqual([]);
    const after = openStore(lxd.stateDir);
    expect(after.listEvents({ limit: 5 }).map((e) => e.kind)).toContain("daemon-stopped");
    after.close();
  }, 15_000);
});
