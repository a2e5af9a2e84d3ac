// Scale-down of JIT runners on a real LXD, registration first: the plan picks an idle runner to
// remove, and GitHub hands it a job before the removal reaches GitHub. GitHub refuses (422) to
// delete a runner that has a job, so runnerd keeps it and the job runs; a runner still idle has
// its registration deleted (204) and then its instance.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("scale-down of JIT runners, registration first (real LXD)", () => {
  const t = useDaemonWorld();

  it("keeps a runner that took a job while its removal was on the way (422), and removes an idle one (204)", async () => {
    const emu = t.world.emulator;
    const repo = "acme/shrink";
    const pat = join(t.world.stateDir, "github-pat");
    writeFileSync(pat, `${emu.pat}\n`, { mode: 0o600 });
    const github = { github: { emu: { url: emu.url, auth: { type: "pat", token_file: pat } } } };
    const pool = (floor: number) => [{ name: "shrink", repo, floor, ceiling: 1, idleTimeout: "1s", labels: ["shrink"] }];
    t.world.writeConfig(pool(1), github);
    const daemon = await t.startDaemon({ sweepDelayMs: 3_600_000 });
    const victim = await waitFor("a JIT runner listening", () => emu.runners().find((r) => r.listeningAt !== null), 120_000);
    // Idle as the daemon sees it, with its spawn over: the next action on it is the removal.
    await waitFor("the runner idle for the daemon", () => (daemon.reconciler.status()?.runners.some((r) => r.name === victim.name && r.phase === "idle") && daemon.reconciler.inFlightNames().length === 0) || undefined, 60_000);

    // The removal's DELETE is held 8 s on its way in; meanwhile GitHub assigns the runner a job,
    // which is still running when the DELETE is handled.
    emu.failNext({ method: "DELETE", path: "/actions/runners/", delayMs: 8000 });
    t.world.writeConfig(pool(0), github);
    expect(daemon.reload().applied).toBe(true);
    await waitFor("the removal under way", () => daemon.reconciler.inFlightNames().includes(victim.name) || undefined, 30_000);
    const job = emu.enqueueJob({ scope: { repo }, labels: ["self-hosted", "shrink"], name: "late-job", script: "sleep 15; echo kept" });
    const deletes = await waitFor("GitHub's answer to the DELETE", () => {
      const calls = emu.apiCalls().filter((c) => c.method === "DELETE");
      return calls.length > 0 ? calls : undefined;
    }, 30_000);
    expect(deletes.map((c) => [c.path, c.status])).toEqual([[`/repos/${repo}/actions/runners/${victim.id}`, 422]]);
    expect(emu.job(job.id)).toMatchObject({ status: "in_progress", runnerName: victim.name });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    expect(done).toMatchObject({ conclusion: "success", runnerName: victim.name });
    // The runner ran its job and was collected as such; the pool did not count it as a failure.
    await waitFor("the runner collected", () => daemon.store.getRunner(victim.name)?.outcome === "succeeded" || undefined, 60_000);
    const status = daemon.reconciler.status()?.pools.find((p) => p.name === "shrink");
    expect(status?.lastError).toBeUndefined();

    // Floor 1 again, then 0: the new runner is idle, its registration goes first (204), then its instance.
    emu.clearApiCalls();
    t.world.writeConfig(pool(1), github);
    expect(daemon.reload().applied).toBe(true);
    const idle = await waitFor("a new runner listening", () => emu.runners().find((r) => r.listeningAt !== null && r.name !== victim.name), 120_000);
    t.world.writeConfig(pool(0), github);
    expect(daemon.reload().applied).toBe(true);
    await waitFor("the idle runner's instance deleted", async () => (await t.world.instances()).length === 0 || undefined, 60_000);
    expect(emu.runners().some((r) => r.name === idle.name)).toBe(false);
    expect(emu.apiCalls().filter((c) => c.method === "DELETE").map((c) => c.status)).toEqual([204]);
    expect(daemon.store.getRunner(idle.name)).toMatchObject({ outcome: "surplus" });
    expect(emu.violations).toEqual([]);
  }, 300_000);
});
