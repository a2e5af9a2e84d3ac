// Issue 13, item 2: a runner runs once. Its instance is made with boot.autostart=false, so LXD and
// Incus never start it again by themselves (a finished runner's volatile.last_state.power can
// still say RUNNING when the daemon died before it saw the power-off). Started again anyway (by
// hand here, as LXD's revival would), its agent powers off at once and leaves the first boot's
// result and logs as they were, so runnerd records the job as it really ended.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { backendCli } from "../../src/cli/demo/lxd-host.js";
import { useDaemonWorld } from "../support/daemon-world.js";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";

const lxd = await lxdOrSkip();
const run = promisify(execFile);

async function startWhenNotBusy(name: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const started = Date.now();
    try {
      await run(backendCli(), ["start", name]);
      return started;
    } catch (err) {
      if (!/busy running a "stop" operation/.test(String(err)) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

describe.skipIf(lxd.skip)("a runner booted a second time (real LXD)", () => {
  const t = useDaemonWorld();

  it("is made with boot.autostart=false, powers off within seconds and leaves its result and logs to be collected", async () => {
    const repo = "acme/revived";
    t.world.writeConfig([{ name: "revived", repo, floor: 1 }]);
    t.world.pushToken({ repo });
    const daemon = await t.startDaemon();
    const runner = await waitFor("a runner listening", () => t.world.emulator.runners().find((r) => r.listeningAt !== null), 120_000);
    const instance = await t.world.lxd.getInstance(runner.name);
    expect(instance?.config["boot.autostart"]).toBe("false");

    // runnerd is down while the job ends: the stopped runner waits for it.
    await t.stopDaemon();
    const job = t.world.emulator.enqueueJob({ scope: { repo }, labels: ["self-hosted"], name: "once", script: "echo ran-once" });
    const [done] = await t.world.emulator.waitForJobs([job.id], 120_000);
    expect(done).toMatchObject({ conclusion: "success", runnerName: runner.name });
    await waitFor("the runner stopped", async () => (await t.world.lxd.getInstance(runner.name))?.status === "Stopped" || undefined, 60_000);
    const pull = async () => Promise.all(["/var/lib/runnerd/result.json", "/var/lib/runnerd/logs.tar.gz", "/var/lib/runnerd/status"].map((p) => t.world.lxd.pullFile(runner.name, p)));
    const first = await pull();
    expect(JSON.parse(first[0]?.toString() ?? "{}")).toMatchObject({ end: "job-done", outcome: "succeeded", job_name: "once" });

    // Started again: it boots, sees it has run before, powers off.
    // LXD refuses a start while the stop of the file-reading helper `forkfile` (left from the
    // reads above, idling 10-15 s) is still running ("busy running a "stop" operation"; lxd-5.0.2
    // driver_lxc.go stopForkfile): retry until it has gone, as an operator would.
    const started = await startWhenNotBusy(runner.name);
    await waitFor("the revived runner stopped again", async () => (await t.world.lxd.getInstance(runner.name))?.status === "Stopped" || undefined, 30_000, 100);
    const upFor = Date.now() - started;
    expect(upFor).toBeLessThan(15_000);
    const console = await run(backendCli(), ["console", runner.name, "--show-log"]).then((r) => r.stdout, () => "");
    if (console !== "") expect(console).toContain("has booted before");
    expect(await pull()).toEqual(first);
    expect(t.world.emulator.runnerHistory().filter((r) => r.name === runner.name)).toHaveLength(1);

    // runnerd, back, records the job as it ended.
    const back = await t.startDaemon();
    await waitFor("the runner collected", () => back.store.listRunners().find((r) => r.name === runner.name && r.deletedAt !== null), 60_000);
    expect(back.store.listRunners().find((r) => r.name === runner.name)).toMatchObject({ outcome: "succeeded", jobSeen: true, jobName: "once" });
    expect(daemon).not.toBe(back);
    process.stderr.write(`second boot: up for ${upFor} ms after the start call\n`);
  });
});
