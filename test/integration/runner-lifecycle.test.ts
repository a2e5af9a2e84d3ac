// The runner's own life on a real LXD, JIT (pat) pools of the busybox image against the emulator:
// a runner offered a newer actions/runner updates itself and still runs the job GitHub assigned it;
// a version GitHub refuses ends `runner-deprecated`; a session another listener holds ends the
// runner; a retryable error restarts its listener, which then runs the job.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Daemon } from "../../src/daemon/daemon.js";
import { lxdOrSkip, waitFor, type PoolInput } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("runner lifecycle on a real LXD", () => {
  const t = useDaemonWorld();

  afterEach(async () => {
    await t.stopDaemon();
    await t.world.removeInstances();
  });

  /** JIT pools: each runner gets its own generate-jitconfig registration, which takes updates. */
  async function startPools(pools: PoolInput[]): Promise<Daemon> {
    const patFile = join(t.world.stateDir, "github-pat");
    writeFileSync(patFile, `${t.world.emulator.pat}\n`, { mode: 0o600 });
    t.world.writeConfig(pools, { github: { emu: { url: t.world.emulator.url, auth: { type: "pat", token_file: patFile } } } });
    return t.startDaemon({ sweepDelayMs: 3_600_000 });
  }

  function result(runner: string): Record<string, unknown> {
    return JSON.parse(readFileSync(join(t.world.stateDir, "logs", runner, "result.json"), "utf8")) as Record<string, unknown>;
  }

  function recorded(daemon: Daemon, pool: string, outcome?: string) {
    return daemon.store.listRunners({ pool, limit: 50 }).find((r) => (outcome === undefined ? r.outcome !== null : r.outcome === outcome));
  }

  it("a JIT runner offered a newer release updates itself, then runs the queued job, exactly once", async () => {
    const emu = t.world.emulator;
    await emu.publishRunnerRelease("2.331.0");
    emu.offerRunnerUpdate("2.331.0");
    const daemon = await startPools([{ name: "upd", repo: "acme/upd", floor: 1, labels: ["upd"] }]);
    const job = emu.enqueueJob({ scope: { repo: "acme/upd" }, labels: ["self-hosted", "upd"], name: "after-update", script: "echo runner-version=$(cat /opt/actions-runner/VERSION)" });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    emu.offerRunnerUpdate(null);
    expect(done, done?.log).toMatchObject({ conclusion: "success", requeues: 0 });
    expect(done?.log).toContain("runner-version=2.331.0");
    const ranIt = emu.runnerHistory().filter((r) => r.jobIds.includes(job.id));
    expect(ranIt).toEqual([expect.objectContaining({ name: done?.runnerName, version: "2.331.0", sessions: 2, jit: true })]);

    const name = done?.runnerName ?? "";
    const record = await waitFor("the updated runner's record", () => daemon.store.listRunners({ pool: "upd", limit: 50 }).find((r) => r.name === name && r.outcome !== null), 60_000);
    expect(record).toMatchObject({ outcome: "succeeded", jobSeen: true, exitCode: 0 });
    expect(result(name)).toMatchObject({ end: "job-done", outcome: "succeeded", updates: 1, retries: 0, runner_version: "2.331.0", job_name: "after-update" });
    expect(emu.runnerReleases().find((r) => r.version === "2.331.0")?.downloads["actions-runner-linux-x64-2.331.0.tar.gz"]).toBeGreaterThanOrEqual(1);
    expect(emu.violations).toEqual([]);
  });

  it("a runner of a version GitHub refuses ends runner-deprecated, after it listened", async () => {
    const emu = t.world.emulator;
    emu.setMinimumRunnerVersion("2.331.0");
    try {
      const daemon = await startPools([{ name: "old", repo: "acme/old", floor: 1 }]);
      const record = await waitFor("a runner recorded as runner-deprecated", () => recorded(daemon, "old", "runner-deprecated"), 120_000);
      expect(record.detail).toContain("Runner version v2.330.0 is deprecated and cannot receive messages.");
      // The busybox image's fake runner is 2.330.0: like actions/runner before 2.333.0, it exits 1
      // even with ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE set; the agent reads its message.
      const written = result(record.name);
      expect(written).toMatchObject({ end: "deprecated", outcome: "runner-deprecated", exit_code: 1, runner_version: "2.330.0", updates: 0, retries: 0 });
      expect(written.listening_at).toEqual(expect.any(Number));
    } finally {
      emu.setMinimumRunnerVersion(null);
    }
  });

  it("a session another listener holds ends the runner (5); a retryable error (2) restarts the listener, which runs the job", async () => {
    const emu = t.world.emulator;
    emu.armRunnerFault({ kind: "session-conflict", namePrefix: "rt-held-", retryIntervalSeconds: 1, retryLimitSeconds: 2 });
    emu.armRunnerFault({ kind: "retryable-error", namePrefix: "rt-flaky-" });
    const daemon = await startPools([
      { name: "held", repo: "acme/held", floor: 1 },
      { name: "flaky", repo: "acme/flaky", floor: 1 },
    ]);
    const job = emu.enqueueJob({ scope: { repo: "acme/flaky" }, labels: ["self-hosted"], name: "after-retry", script: "echo ok" });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    expect(done).toMatchObject({ conclusion: "success", requeues: 0 });
    const flaky = await waitFor("the retried runner's record", () => daemon.store.listRunners({ pool: "flaky", limit: 50 }).find((r) => r.name === done?.runnerName && r.outcome !== null), 60_000);
    expect(flaky).toMatchObject({ outcome: "succeeded", jobSeen: true });
    expect(result(flaky.name)).toMatchObject({ end: "job-done", retries: 1, updates: 0 });
    expect(emu.runnerHistory().find((r) => r.name === flaky.name)?.sessions).toBe(2);

    const held = await waitFor("the conflicted runner's record", () => recorded(daemon, "held", "failed"), 60_000);
    expect(result(held.name)).toMatchObject({ end: "session-conflict", outcome: "failed", exit_code: 5, listening_at: null });
    emu.clearRunnerFaults();
    expect(emu.violations).toEqual([]);
  });
});
