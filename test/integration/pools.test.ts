// End to end against the real LXD and the GitHub emulator: runners are created, run exactly one
// job each, are collected and replaced, and leave nothing behind.
import { describe, expect, it } from "vitest";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("pools on a real LXD", () => {
  const t = useDaemonWorld();

  it("runs 30 jobs on two pools, each exactly once, each runner at most one job, then returns to the floor and frees its disk", async () => {
    const baseline = await t.world.storageUsed();
    t.world.writeConfig([
      { name: "web", repo: "acme/web", floor: 3 },
      { name: "api", repo: "acme/api", floor: 3 },
    ]);
    t.world.pushToken({ repo: "acme/web" });
    t.world.pushToken({ repo: "acme/api" });
    const daemon = await t.startDaemon();

    await waitFor("3 listening runners per pool", () => {
      const listening = t.world.emulator.runners().filter((r) => r.listeningAt !== null);
      return listening.length >= 6 ? listening : undefined;
    }, 60_000);

    const jobs = [];
    for (let i = 0; i < 30; i++) {
      const repo = i % 2 === 0 ? "acme/web" : "acme/api";
      jobs.push(t.world.emulator.enqueueJob({ scope: { repo }, labels: ["self-hosted"], name: `job-${i}`, script: `echo "job ${i} on $RUNNER_NAME"; sleep 0.2` }));
    }
    const done = await t.world.emulator.waitForJobs(jobs.map((j) => j.id), 240_000);

    expect(done.map((j) => j.conclusion)).toEqual(Array(30).fill("success"));
    // Each job ran exactly once, and no runner ever took a second job.
    for (const job of done) expect(job.requeues).toBe(0);
    const history = t.world.emulator.runnerHistory();
    for (const runner of history) expect(runner.jobIds.length).toBeLessThanOrEqual(1);
    const ranBy = new Set(done.map((j) => j.runnerName));
    expect(ranBy.size).toBe(30);
    for (const job of done) expect(job.log).toContain(`job ${job.name.slice(4)} on ${job.runnerName}`);

    // Back to the floor: 3 idle runners per pool, each listening, and every finished instance deleted.
    let last = "";
    const settled = await waitFor(
      "the floor again with no finished instances left",
      async () => {
        const instances = await t.world.instances();
        const listening = new Set(t.world.emulator.runners().filter((r) => r.listeningAt !== null && r.jobIds.length === 0).map((r) => r.name));
        last = instances.map((i) => `${i.name}:${i.status}:${listening.has(i.name) ? "listening" : "-"}`).join(" ");
        return instances.length === 6 && instances.every((i) => i.status === "Running" && listening.has(i.name)) ? instances : undefined;
      },
      120_000,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last seen: ${last}`);
    });
    expect(settled.filter((i) => i.pool === "web")).toHaveLength(3);
    expect(settled.filter((i) => i.pool === "api")).toHaveLength(3);

    // The history recorded every runner that ran a job, with its outcome and job.
    const records = new Map(daemon.store.listRunners({ limit: 200 }).map((r) => [r.name, r]));
    for (const job of done) expect(records.get(job.runnerName ?? ""), `record of ${job.runnerName}`).toMatchObject({ outcome: "succeeded", jobSeen: true });

    // Stop everything: the storage pool's used space returns to where it was.
    await t.stopDaemon();
    await t.world.removeInstances();
    const after = await waitFor("storage back to baseline", async () => {
      const used = await t.world.storageUsed();
      return used - baseline < 8 * 2 ** 20 ? used : undefined;
    }, 30_000, 1000);
    expect(after - baseline).toBeLessThan(8 * 2 ** 20);
    expect(t.world.emulator.violations).toEqual([]);
  });
});
