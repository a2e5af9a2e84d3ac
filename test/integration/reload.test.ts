// Reloading the configuration (SIGHUP): a broken file is refused and the old configuration keeps
// running; a file without one of the pools drains that pool — idle runners are deleted at once,
// a busy one finishes its job and is then collected, and nothing replaces them.
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readStatusFile } from "../../src/daemon/state-files.js";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(lxd.skip)("configuration reload on a real LXD", () => {
  const t = useDaemonWorld();

  const listening = (repo: string) => t.world.emulator.runners().filter((r) => "repo" in r.scope && r.scope.repo === repo && r.listeningAt !== null && r.jobIds.length === 0);

  it("refuses a broken file, then drains a removed pool: idle runners deleted, the busy one finishes and is collected, none replaced", async () => {
    const pools = [
      { name: "keep", repo: "acme/keep", floor: 1 },
      { name: "gone", repo: "acme/gone", floor: 2, ceiling: 3 },
    ];
    t.world.writeConfig(pools);
    t.world.pushToken({ repo: "acme/keep" });
    t.world.pushToken({ repo: "acme/gone" });
    const daemon = await t.startDaemon();
    const d = daemon;
    await waitFor("1 + 2 listening runners", () => (listening("acme/keep").length === 1 && listening("acme/gone").length === 2) || undefined, 120_000);
    const before = await waitFor("3 running instances", async () => {
      const instances = await t.world.instances();
      return instances.length === 3 && instances.every((i) => i.status === "Running") ? instances : undefined;
    }, 30_000);

    // (a) A broken file: refused, an event says why, and the old pools keep running.
    writeFileSync(t.world.configPath, "controller_id: x\npools:\n  - name: Not_Valid\n    runners: { idle: -1 }\n");
    expect(d.reload().applied).toBe(false);
    const refused = d.store.listEvents({ limit: 100 }).filter((e) => e.kind === "config-refused");
    expect(refused).toHaveLength(1);
    expect(refused[0]?.level).toBe("error");
    expect(refused[0]?.message).toContain("pools[0].runners.idle");
    expect(d.config().pools.map((p) => p.name)).toEqual(["keep", "gone"]);
    expect(d.store.listEvents({ limit: 100 }).filter((e) => e.kind === "config-reloaded")).toEqual([]);
    // A valid file that changes the controller id would orphan every runner: refused as well.
    t.world.writeConfig(pools, { controller_id: "someone-else" });
    expect(d.reload().applied).toBe(false);
    const refusedAgain = d.store.listEvents({ limit: 100 }).filter((e) => e.kind === "config-refused");
    expect(refusedAgain).toHaveLength(2);
    expect(refusedAgain[1]?.message).toContain("controller_id cannot change");
    expect(d.config().controller_id).toBe(t.world.controllerId);
    d.reconciler.requestPass("test: after refused reload");
    await sleep(3000);
    const stillThere = await t.world.instances();
    expect(stillThere.map((i) => i.name).sort()).toEqual(before.map((i) => i.name).sort());
    expect(stillThere.every((i) => i.status === "Running")).toBe(true);
    expect(readStatusFile(t.world.stateDir)?.pools.map((p) => p.name)).toEqual(["keep", "gone"]);

    // A slow job makes one of pool gone's runners busy; the pool starts a replacement.
    const slow = t.world.emulator.enqueueJob({ scope: { repo: "acme/gone" }, labels: ["self-hosted"], name: "slow", script: 'echo "slow on $RUNNER_NAME"; sleep 25; echo "slow done"' });
    const busyName = await waitFor("the slow job running", () => {
      const job = t.world.emulator.job(slow.id);
      return job?.status === "in_progress" ? job.runnerName ?? undefined : undefined;
    }, 60_000);
    await waitFor("pool gone back at 2 idle next to the busy one", () => listening("acme/gone").length === 2 || undefined, 120_000);

    // (b) Pool gone leaves the configuration.
    const reloadedAt = Date.now();
    t.world.writeConfig(pools.filter((p) => p.name === "keep"));
    expect(d.reload().applied).toBe(true);
    expect(d.config().pools.map((p) => p.name)).toEqual(["keep"]);
    expect(d.store.listEvents({ limit: 100 }).filter((e) => e.kind === "config-reloaded")).toHaveLength(1);

    // Its idle runners go at once; the busy one is still running its job.
    const afterDrain = await waitFor("only the busy runner left of pool gone", async () => {
      const instances = await t.world.instances();
      const gone = instances.filter((i) => i.pool === "gone");
      return gone.length === 1 && gone[0]?.name === busyName ? instances : undefined;
    }, 60_000, 250);
    expect(t.world.emulator.job(slow.id)?.status).toBe("in_progress");
    expect(afterDrain.find((i) => i.name === busyName)?.status).toBe("Running");
    const drained = d.store.listRunners({ pool: "gone" }).filter((r) => r.outcome === "pool-removed");
    expect(drained.length).toBeGreaterThanOrEqual(2);
    for (const r of drained) {
      expect(r.deletedAt).not.toBeNull();
      expect(r.jobSeen).toBe(false);
    }

    // The job finishes, its runner is collected, and pool gone is not replaced.
    const [done] = await t.world.emulator.waitForJobs([slow.id], 120_000);
    expect(done?.conclusion).toBe("success");
    expect(done?.log).toContain("slow done");
    await waitFor("no instance of pool gone", async () => !(await t.world.instances()).some((i) => i.pool === "gone") || undefined, 60_000);
    const busyRecord = await waitFor("the busy runner's record", () => {
      const r = d.store.getRunner(busyName);
      return r?.deletedAt ? r : undefined;
    }, 30_000);
    expect(busyRecord).toMatchObject({ outcome: "succeeded", jobSeen: true, jobName: "slow" });
    await sleep(4000);
    const final = await t.world.instances();
    expect(final.filter((i) => i.pool === "gone")).toEqual([]);
    expect(d.store.listRunners({ pool: "gone" }).filter((r) => r.createdAt.getTime() >= reloadedAt)).toEqual([]);
    // Pool keep never noticed: the same runner, still idle.
    expect(final.map((i) => i.name)).toEqual(before.filter((i) => i.pool === "keep").map((i) => i.name));
    expect(final[0]?.status).toBe("Running");
    expect(readStatusFile(t.world.stateDir)?.pools.map((p) => p.name)).toEqual(["keep"]);
    expect(t.world.emulator.violations).toEqual([]);
  });
});
