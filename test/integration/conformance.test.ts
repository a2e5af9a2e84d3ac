// Conformance rows on a real LXD or Incus that no other integration test covers (the whole table,
// with the test asserting each row, is docs/conformance.md; a unit test keeps the two in step).
// JIT (pat) pools of the busybox image against the emulator.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Daemon } from "../../src/daemon/daemon.js";
import { lxdOrSkip, waitFor, type PoolInput } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("conformance rows on a real backend", () => {
  const t = useDaemonWorld();

  afterEach(async () => {
    t.world.emulator.clearRunnerFaults();
    await t.stopDaemon();
    await t.world.removeInstances();
  });

  async function startPools(pools: PoolInput[], options: { jobRecoveryDelayMs?: number } = {}): Promise<Daemon> {
    const patFile = join(t.world.stateDir, "github-pat");
    writeFileSync(patFile, `${t.world.emulator.pat}\n`, { mode: 0o600 });
    t.world.writeConfig(pools, { github: { emu: { url: t.world.emulator.url, auth: { type: "pat", token_file: patFile } } } });
    return t.startDaemon({ sweepDelayMs: 3_600_000, ...options });
  }

  function result(runner: string): Record<string, unknown> {
    return JSON.parse(readFileSync(join(t.world.stateDir, "logs", runner, "result.json"), "utf8")) as Record<string, unknown>;
  }

  // actions/runner restarts the session in the same process (RunAsync returns 6 to
  // ExecuteRunnerAsync, which runs it again); the process exits 6 only where that loop is not used.
  it("a configuration refresh restarts the runner's session, which runs the job exactly once", async () => {
    const emu = t.world.emulator;
    emu.armRunnerFault({ kind: "config-refresh", namePrefix: "rt-refresh-" });
    const daemon = await startPools([{ name: "refresh", repo: "acme/refresh", floor: 1 }]);
    const job = emu.enqueueJob({ scope: { repo: "acme/refresh" }, labels: ["self-hosted"], name: "after-refresh", script: "echo ok" });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    expect(done).toMatchObject({ conclusion: "success", requeues: 0 });
    const record = await waitFor("the refreshed runner's record", () => daemon.store.listRunners({ pool: "refresh", limit: 50 }).find((r) => r.name === done?.runnerName && r.outcome !== null), 60_000);
    expect(record).toMatchObject({ outcome: "succeeded", jobSeen: true });
    expect(result(record.name)).toMatchObject({ end: "job-done", retries: 0, updates: 0 });
    expect(emu.runnerHistory().filter((r) => r.jobIds.includes(job.id))).toEqual([expect.objectContaining({ name: record.name, sessions: 2 })]);
    expect(emu.violations).toEqual([]);
  });

  it("a registration deleted on GitHub while its runner listens ends that runner as no-job, not a failure, and the floor is restored", async () => {
    const emu = t.world.emulator;
    const daemon = await startPools([{ name: "gone", repo: "acme/gone", floor: 1 }]);
    const first = await waitFor("a listening runner", () => emu.runners().find((r) => r.name.startsWith("rt-gone-") && r.listeningAt !== null), 90_000);
    emu.deleteRunner(first.id);
    const record = await waitFor("the removed runner's record", () => daemon.store.listRunners({ pool: "gone", limit: 50 }).find((r) => r.name === first.name && r.outcome !== null), 90_000);
    expect(record).toMatchObject({ outcome: "no-job", jobSeen: false });
    expect(result(first.name)).toMatchObject({ end: "registration-deleted" });
    // Not a failure: the pool does not back off, and a new runner takes the job.
    const job = emu.enqueueJob({ scope: { repo: "acme/gone" }, labels: ["self-hosted"], name: "after-removal", script: "echo ok" });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    expect(done).toMatchObject({ conclusion: "success", requeues: 0 });
    expect(done?.runnerName).not.toBe(first.name);
    expect(emu.violations).toEqual([]);
  });

  it("a job queued inside a run already in progress, whose webhook was lost, is recovered and runs", async () => {
    const emu = t.world.emulator;
    const daemon = await startPools([{ name: "needs", repo: "acme/needs", floor: 0, ceiling: 2, idleTimeout: "1s" }], { jobRecoveryDelayMs: 3_600_000 });
    // No webhook is configured in this world: every delivery is lost, as when GitHub's fail.
    const first = emu.enqueueJob({ scope: { repo: "acme/needs" }, labels: ["self-hosted"], name: "build", script: "sleep 30" });
    await daemon.jobRecovery.recover();
    await waitFor("the first job running", () => emu.job(first.id)?.status === "in_progress" || undefined, 90_000);
    // `needs: build` satisfied, say: the run is in_progress and holds a newly queued job.
    const second = emu.enqueueJob({ scope: { repo: "acme/needs" }, labels: ["self-hosted"], name: "deploy", script: "echo deployed", runId: first.runId });
    const report = await daemon.jobRecovery.recover();
    expect(report).toMatchObject({ recovered: 1, errors: [] });
    const [done] = await emu.waitForJobs([second.id], 120_000);
    expect(done).toMatchObject({ conclusion: "success", requeues: 0 });
    expect(emu.violations).toEqual([]);
  });
});
