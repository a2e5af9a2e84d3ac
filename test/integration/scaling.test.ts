// Demand-driven scaling on a real LXD, driven by signed workflow_job webhooks from the emulator:
// a burst scales a pool from its floor to its ceiling and back; two pools under a host cap both
// progress; duplicate, reordered and unsigned deliveries do the right thing; metrics add up.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Daemon } from "../../src/daemon/daemon.js";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(lxd.skip)("demand-driven scaling with webhooks on a real LXD", () => {
  const t = useDaemonWorld();

  /** Writes the webhook secret, and points the emulator's webhook at the running daemon. */
  function webhookConfig(): Record<string, unknown> {
    const file = join(t.world.stateDir, "webhook-secret");
    writeFileSync(file, "s3cret-for-tests\n", { mode: 0o600 });
    return { github: { emu: { url: t.world.emulator.url, auth: { type: "push" }, webhook_secret_file: file } } };
  }
  let hookId: number | undefined;
  function hookUp(daemon: Daemon): number {
    if (hookId !== undefined) t.world.emulator.removeWebhook(hookId);
    hookId = t.world.emulator.addWebhook({ url: `${daemon.http.url}/webhooks/github`, secret: "s3cret-for-tests" });
    return hookId;
  }
  /**
   * Samples, until `done` resolves, the largest number of runners holding a slot at once (the
   * daemon's own view: creating, starting, idle or busy; a runner that finished its job no longer
   * counts against the ceiling while its instance is collected) and of the scope's jobs running
   * at GitHub (the emulator's view).
   */
  async function peaks(daemon: Daemon, pools: string[], repos: string[], done: Promise<unknown>): Promise<{ runners: number; running: number }> {
    const emu = t.world.emulator;
    const holding = new Set(["creating", "starting", "idle", "busy"]);
    const peak = { runners: 0, running: 0 };
    let finished = false;
    void done.finally(() => (finished = true));
    while (!finished) {
      const runners = daemon.reconciler.status()?.runners ?? [];
      peak.runners = Math.max(peak.runners, runners.filter((r) => pools.includes(r.pool) && holding.has(r.phase)).length);
      peak.running = Math.max(peak.running, emu.jobs().filter((j) => "repo" in j.scope && repos.includes(j.scope.repo) && j.status === "in_progress").length);
      await sleep(100);
    }
    await done;
    return peak;
  }

  // Jobs of 8 s: long enough that all six runners are busy at once even when spawns are slow
  // (with 4 s, a loaded CI host once finished one job before the sixth runner started).
  it("a burst of 20 queued jobs scales floor 1 to ceiling 6, runs them all, then returns to the floor", async () => {
    const emu = t.world.emulator;
    t.world.writeConfig([{ name: "burst", repo: "acme/burst", floor: 1, ceiling: 6, idleTimeout: "3s", labels: ["burst"] }], { ...webhookConfig(), max_runners: 10 });
    t.world.pushToken({ repo: "acme/burst" });
    const daemon = await t.startDaemon();
    hookUp(daemon);
    await waitFor("the floor's runner listening", () => emu.runners().some((r) => r.listeningAt !== null) || undefined, 120_000);

    const jobs = Array.from({ length: 20 }, (_, i) => emu.enqueueJob({ scope: { repo: "acme/burst" }, labels: ["self-hosted", "burst"], name: `burst-${i}`, script: "sleep 8" }));
    const all = emu.waitForJobs(jobs.map((j) => j.id), 300_000);
    const peak = await peaks(daemon, ["burst"], ["acme/burst"], all);
    const done = await all;
    expect(done.every((j) => j.conclusion === "success")).toBe(true);
    expect(new Set(done.map((j) => j.runnerName)).size).toBe(20); // one job per runner
    expect(peak).toEqual({ runners: 6, running: 6 });

    // Back to the floor once the extra runners were idle for idle_timeout.
    await waitFor("back to one instance", async () => (await t.world.instances()).length === 1 || undefined, 120_000);
    await sleep(4000);
    expect((await t.world.instances()).length).toBe(1);

    // The history has every job, with its pool, runner and times; metrics agree.
    const history = daemon.store.listJobs({ pool: "burst", limit: 100 });
    expect(history).toHaveLength(20);
    expect(history.every((j) => j.status === "completed" && j.conclusion === "success" && j.runnerName !== null && j.startedAt !== null)).toBe(true);
    const metrics = await (await fetch(`${daemon.http.url}/metrics`)).text();
    expect(metrics).toContain('runnerd_jobs_total{pool="burst",conclusion="success"} 20');
    expect(metrics).toContain("runnerd_job_queue_wait_seconds_count{pool=\"burst\"} 20");
    expect(metrics).toMatch(/runnerd_webhook_deliveries_total\{outcome="accepted"\} 60\b/);
    expect(metrics).toMatch(/runnerd_runners\{pool="burst",state="idle"\} 1\b/);
    expect(emu.violations).toEqual([]);
  });

  it("reordered, duplicate and unsigned deliveries: no going back, no double counting, nothing accepted unsigned", async () => {
    const emu = t.world.emulator;
    await t.stopDaemon();
    await t.world.removeInstances();
    t.world.writeConfig([{ name: "quiet", repo: "acme/quiet", floor: 1, ceiling: 2, idleTimeout: "1s", labels: ["quiet"] }], webhookConfig());
    t.world.pushToken({ repo: "acme/quiet" });
    const daemon = await t.startDaemon();
    const hook = hookUp(daemon);
    await waitFor("the floor's runner listening", () => emu.runners().some((r) => r.listeningAt !== null && "repo" in r.scope && r.scope.repo === "acme/quiet") || undefined, 120_000);

    // The floor's runner takes the job while its deliveries are held; they then arrive newest first.
    emu.pauseWebhooks();
    const job = emu.enqueueJob({ scope: { repo: "acme/quiet" }, labels: ["self-hosted", "quiet"], name: "reordered", script: "true" });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    expect(done?.conclusion).toBe("success");
    emu.resumeWebhooks({ order: "reverse" });
    await emu.webhooksIdle();
    const deliveries = emu.webhookDeliveries().filter((d) => d.jobId === job.id && d.hookId === hook);
    // Listed in the order they were built; resumeWebhooks sent them newest first.
    expect(deliveries.map((d) => d.action)).toEqual(["queued", "in_progress", "completed"]);
    const record = await waitFor("the job in the history", () => daemon.store.listJobs({ pool: "quiet" }).find((j) => j.jobId === job.id), 10_000);
    expect(record).toMatchObject({ status: "completed", conclusion: "success", runnerName: done?.runnerName });
    // The late `queued` did not make it demand again.
    const queuedGauge = async () => /runnerd_pool_queued_jobs\{pool="quiet"\} (\d+)/.exec(await (await fetch(`${daemon.http.url}/metrics`)).text())?.[1];
    expect(await queuedGauge()).toBe("0");

    // Redelivered (duplicates): acknowledged, not counted again.
    for (const d of deliveries) emu.redeliver(d.id);
    await emu.webhooksIdle();
    const metrics = await (await fetch(`${daemon.http.url}/metrics`)).text();
    expect(metrics).toMatch(/runnerd_webhook_deliveries_total\{outcome="duplicate"\} 3\b/);
    expect(metrics).toContain('runnerd_jobs_total{pool="quiet",conclusion="success"} 1');

    // Unsigned and wrongly signed: 401, nothing recorded.
    const before = daemon.store.listJobs({ limit: 1000 }).length;
    const body = JSON.stringify({ action: "queued", workflow_job: { id: 999_999 } });
    const url = `${daemon.http.url}/webhooks/github`;
    const unsigned = await emu.sendRawWebhook({ url, body, headers: { "x-github-event": "workflow_job" } });
    const forged = await emu.sendRawWebhook({ url, body, headers: { "x-github-event": "workflow_job" }, signWith: "not-the-secret" });
    expect([unsigned.status, forged.status]).toEqual([401, 401]);
    expect(daemon.store.listJobs({ limit: 1000 })).toHaveLength(before);
    expect(emu.violations).toEqual([]);
  });

  it("two pools competing under a host cap both progress", async () => {
    const emu = t.world.emulator;
    await t.stopDaemon();
    await t.world.removeInstances();
    t.world.writeConfig(
      [
        { name: "left", repo: "acme/left", floor: 0, ceiling: 4, idleTimeout: "2s", labels: ["left"] },
        { name: "right", repo: "acme/right", floor: 0, ceiling: 4, idleTimeout: "2s", labels: ["right"] },
      ],
      { ...webhookConfig(), max_runners: 3 },
    );
    t.world.pushToken({ repo: "acme/left" });
    t.world.pushToken({ repo: "acme/right" });
    const daemon = await t.startDaemon();
    hookUp(daemon);
    // Jobs of 6 s: with 2 s, a loaded CI host (Incus, 2026-12-06) never had all three slots
    // running at once, each runner finishing before the third replacement was listening.
    const jobs = ["left", "right"].flatMap((pool) =>
      Array.from({ length: 6 }, (_, i) => emu.enqueueJob({ scope: { repo: `acme/${pool}` }, labels: ["self-hosted", pool], name: `${pool}-${i}`, script: "sleep 6" })),
    );
    const all = emu.waitForJobs(jobs.map((j) => j.id), 300_000);
    const peak = await peaks(daemon, ["left", "right"], ["acme/left", "acme/right"], all);
    const done = await all;
    expect(done.every((j) => j.conclusion === "success")).toBe(true);
    expect(peak.runners).toBeLessThanOrEqual(3);
    expect(peak.running).toBe(3);
    // Interleaved: among the first half of completions, each pool has some. Three slots split 2:1,
    // and a tie goes to the pool served longer ago, so 4:2 is usual; 5:1 was seen once in CI when
    // one runner booted slowly. Neither pool waits for the other to drain.
    const firstHalf = [...done].sort((a, b) => (a.completedAt ?? 0) - (b.completedAt ?? 0)).slice(0, 6);
    expect(firstHalf.filter((j) => j.name.startsWith("left")).length).toBeGreaterThanOrEqual(1);
    expect(firstHalf.filter((j) => j.name.startsWith("right")).length).toBeGreaterThanOrEqual(1);
  });

  it("pat mode: a job whose webhook was lost is found by listing queued jobs, and runs", async () => {
    const emu = t.world.emulator;
    await t.stopDaemon();
    await t.world.removeInstances();
    const pat = join(t.world.stateDir, "pat");
    writeFileSync(pat, emu.pat, { mode: 0o600 });
    t.world.writeConfig([{ name: "lost", repo: "acme/lost", floor: 0, ceiling: 2, idleTimeout: "1s", labels: ["lost"] }], {
      github: { emu: { url: emu.url, auth: { type: "pat", token_file: pat }, webhook_secret_file: (webhookConfig().github as { emu: { webhook_secret_file: string } }).emu.webhook_secret_file } },
    });
    const daemon = await t.startDaemon({ jobRecoveryDelayMs: 3_600_000, sweepDelayMs: 3_600_000 });
    if (hookId !== undefined) emu.removeWebhook(hookId); // no webhook at all: every delivery is lost
    hookId = undefined;
    const job = emu.enqueueJob({ scope: { repo: "acme/lost" }, labels: ["self-hosted", "lost"], name: "lost-webhook", script: "echo found" });
    await sleep(2000);
    expect(await t.world.instances()).toEqual([]); // floor 0 and no webhook: nothing knows of the job
    const report = await daemon.jobRecovery.recover();
    expect(report).toMatchObject({ repositories: 1, recovered: 1, errors: [] });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    expect(done?.conclusion).toBe("success");
    expect(daemon.store.getJob(job.id)).toMatchObject({ pool: "lost", status: "queued" }); // its later webhooks are lost too
    // The next listing asks GitHub about it and learns that it ran, so it stops counting as demand.
    const later = await daemon.jobRecovery.recover({ staleAfterMs: 0 });
    expect(later).toMatchObject({ recovered: 0, corrected: 1, errors: [] });
    expect(daemon.store.getJob(job.id)).toMatchObject({ status: "completed", conclusion: "success", runnerName: done?.runnerName });
    expect(emu.violations).toEqual([]);
  });
});
