// The daemon is killed with SIGKILL while runners are being created, starting and busy, and is
// started again: LXD is the source of truth, so the new daemon adopts what is there, collects what
// finished while it was down, removes what was half made, and every job still runs exactly once.
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pidFilePath, readStatusFile } from "../../src/daemon/state-files.js";
import { openStore } from "../../src/store/index.js";
import { createTestWorld, ensureBuilt, ensureTestImage, lxdOrSkip, startChildDaemon, waitFor, type ChildDaemon, type TestWorld } from "../support/lxd-harness.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("daemon crash and restart on a real LXD", () => {
  let world: TestWorld;
  const children: ChildDaemon[] = [];

  beforeAll(async () => {
    await Promise.all([ensureTestImage(), ensureBuilt()]);
    world = await createTestWorld();
  });

  afterAll(async () => {
    for (const child of children) await child.stop().catch(() => undefined);
    await world?.cleanup();
  });

  it("after kill -9 and a restart, nothing leaks, every job runs exactly once and the floor is restored", async () => {
    const repo = "acme/crash";
    world.writeConfig([{ name: "crash", repo, floor: 3, ceiling: 6 }], { spawn_concurrency: 2 });
    world.pushToken({ repo });

    const first = startChildDaemon(world);
    children.push(first);
    await waitFor("3 listening runners", () => world.emulator.runners().filter((r) => r.listeningAt !== null).length >= 3 || undefined, 120_000);
    expect(readStatusFile(world.stateDir)?.pid).toBe(first.pid);

    // Six slow jobs: the three idle runners take one each, and the daemon starts three more.
    const slow = Array.from({ length: 6 }, (_, i) =>
      world.emulator.enqueueJob({ scope: { repo }, labels: ["self-hosted"], name: `slow-${i}`, script: `echo "slow ${i} on $RUNNER_NAME"; sleep 8; echo "slow ${i} done"` }),
    );
    const atKill = await waitFor("busy runners and runners being created or started", async () => {
      const busy = world.emulator.jobs().filter((j) => j.status === "in_progress").length;
      const listening = new Set(world.emulator.runners().filter((r) => r.listeningAt !== null).map((r) => r.name));
      const instances = await world.instances();
      const notListening = instances.filter((i) => !listening.has(i.name));
      return busy >= 1 && notListening.length >= 1 ? { busy, instances: instances.length, notListening: notListening.map((i) => `${i.name}:${i.status}`) } : undefined;
    }, 60_000, 50);
    first.process.kill("SIGKILL");
    const ended = await first.exited;
    expect(ended.signal).toBe("SIGKILL");
    console.info(`killed the daemon with ${atKill.busy} job(s) running, ${atKill.instances} instance(s), not listening: ${atKill.notListening.join(", ")}`);

    // The killed daemon's pid file is left behind, naming a dead process.
    expect(readFileSync(pidFilePath(world.stateDir), "utf8").trim()).toBe(String(first.pid));

    // While it is down, busy runners finish and power off; they wait, stopped, to be collected.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const second = startChildDaemon(world);
    children.push(second);
    await waitFor("the new daemon's first pass", () => readStatusFile(world.stateDir)?.pid === second.pid || undefined, 60_000);
    expect(readFileSync(pidFilePath(world.stateDir), "utf8").trim()).toBe(String(second.pid));
    expect(second.process.exitCode).toBeNull();

    // New work after the restart is served too.
    const quick = Array.from({ length: 3 }, (_, i) =>
      world.emulator.enqueueJob({ scope: { repo }, labels: ["self-hosted"], name: `quick-${i}`, script: `echo "quick ${i} on $RUNNER_NAME"` }),
    );
    const all = [...slow, ...quick];
    const done = await world.emulator.waitForJobs(all.map((j) => j.id), 240_000);
    for (const job of done) {
      expect(job.conclusion, `${job.name}: ${job.log}`).toBe("success");
      expect(job.log).toContain(`${job.name.replace("-", " ")} on ${job.runnerName}`);
      expect(job.completedAt).not.toBeNull();
    }
    // A requeue means the first runner never fetched the script (else it would be in progress).
    for (const job of done) if (job.requeues > 0) console.info(`job ${job.name} was requeued ${job.requeues} time(s)`);

    // No runner ran two jobs, and each job ran to completion on exactly one runner.
    const history = world.emulator.runnerHistory();
    for (const runner of history) expect(runner.jobIds.length, runner.name).toBeLessThanOrEqual(1);
    for (const job of done) {
      const ranOn = history.filter((r) => r.jobIds.includes(job.id));
      expect(ranOn.length).toBe(1 + job.requeues);
      expect(ranOn.at(-1)?.name).toBe(job.runnerName);
    }
    expect(new Set(done.map((j) => j.runnerName)).size).toBe(all.length);

    // Back to the floor: exactly 3 instances, all running and listening without a job, none stopped.
    const floor = await waitFor("3 idle runners and nothing else", async () => {
      const instances = await world.instances();
      const idle = new Set(world.emulator.runners().filter((r) => r.listeningAt !== null && r.jobIds.length === 0).map((r) => r.name));
      return instances.length === 3 && instances.every((i) => i.status === "Running" && idle.has(i.name)) ? instances : undefined;
    }, 120_000, 500);
    expect(floor.map((i) => i.pool)).toEqual(["crash", "crash", "crash"]);
    const status = await waitFor("status.json shows the floor", () => {
      const pool = readStatusFile(world.stateDir)?.pools.find((p) => p.name === "crash");
      return pool?.idle === 3 ? pool : undefined;
    }, 30_000);
    expect(status).toMatchObject({ idle: 3, busy: 0, starting: 0, finishing: 0 });
    expect(status.blocked).toBeUndefined();

    // The store: each job recorded as run by exactly one runner, which succeeded; every runner
    // that is no longer in LXD has an outcome and is marked deleted.
    await second.stop();
    expect((await second.exited).code).toBe(0);
    expect(existsSync(pidFilePath(world.stateDir))).toBe(false);
    const live = new Set(floor.map((i) => i.name));
    const store = openStore(world.stateDir);
    try {
      const records = store.listRunners();
      for (const job of done) {
        const ranBy = records.filter((r) => r.jobName === job.name);
        expect(ranBy.map((r) => r.name), job.name).toEqual([job.runnerName]);
        expect(ranBy[0]?.outcome).toBe("succeeded");
        expect(ranBy[0]?.jobSeen).toBe(true);
      }
      for (const record of records) {
        if (live.has(record.name)) {
          expect(record.deletedAt, record.name).toBeNull();
          expect(record.listeningAt, record.name).not.toBeNull();
        } else {
          expect(record.deletedAt, `${record.name} (${record.outcome})`).not.toBeNull();
          expect(record.outcome, record.name).not.toBeNull();
        }
      }
      // Every instance runnerd ever made is in the history.
      for (const runner of history) expect(records.some((r) => r.name === runner.name), runner.name).toBe(true);
      const outcomes = records.map((r) => r.outcome ?? "live").sort();
      console.info(`runner outcomes: ${outcomes.join(", ")}`);
    } finally {
      store.close();
    }
    expect(world.emulator.violations).toEqual([]);
  });
});
