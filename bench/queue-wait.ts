// Benchmark: how long a queued job waits for a runner, from runnerd receiving its `queued`
// webhook to a runner picking the job up, with floor 0 (a runner is spawned for the job: cold)
// and with an idle runner waiting (warm). The real daemon (child process), the real LXD, the
// busybox image and the emulator's signed webhooks.
//
//   npm run bench:queue-wait [-- --jobs 10]
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stopDaemon, summary, writeResult } from "./stats.js";
import { createTestWorld, ensureTestImage, lxdUnavailableReason, repoRoot, waitFor, type TestWorld } from "../test/support/lxd-harness.js";
import { readStatusFile } from "../src/daemon/state-files.js";

const { values } = parseArgs({ options: { jobs: { type: "string", default: "10" }, out: { type: "string", default: "test-results/bench-queue-wait.json" } } });
const jobsPerMode = Number(values.jobs);
const secret = "bench-webhook-secret";

function startDaemon(world: TestWorld): ChildProcess {
  const child = spawn(process.execPath, [join(repoRoot, "bin/runnerd"), "--config", world.configPath, "up"], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", () => undefined);
  return child;
}

/** Enqueues one job at a time; the wait is from the daemon answering the `queued` delivery to the job's assignment. */
async function measure(world: TestWorld, repo: string, label: string, between: () => Promise<void>): Promise<{ fromWebhook: number[]; fromQueued: number[] }> {
  const emu = world.emulator;
  const waits: number[] = [];
  const fromQueued: number[] = [];
  for (let i = 0; i < jobsPerMode; i++) {
    await between();
    const job = emu.enqueueJob({ scope: { repo }, labels: ["self-hosted", label], name: `${label}-${i}`, script: "true" });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    const queued = emu.webhookDeliveries().find((d) => d.jobId === job.id && d.action === "queued" && !d.redelivery);
    if (!queued || queued.durationMs === null || !done?.assignedAt) throw new Error(`job ${job.id}: no queued delivery or assignment recorded`);
    // Negative when an idle runner got the job before the webhook was even answered.
    waits.push(Math.round(done.assignedAt - (queued.createdAt + queued.durationMs)));
    fromQueued.push(Math.round(done.assignedAt - done.queuedAt));
    process.stderr.write(`\r${label} ${i + 1}/${jobsPerMode}: ${waits.at(-1)} ms   `);
  }
  process.stderr.write("\n");
  return { fromWebhook: waits, fromQueued };
}

async function main(): Promise<void> {
  const unavailable = await lxdUnavailableReason();
  if (unavailable) throw new Error(`the benchmark needs LXD: ${unavailable} (run scripts/setup-lxd.sh)`);
  await ensureTestImage();
  const world = await createTestWorld({ longPollMs: 5000 });
  let daemon: ChildProcess | undefined;
  try {
    const secretFile = join(world.stateDir, "webhook-secret");
    writeFileSync(secretFile, secret, { mode: 0o600 });
    world.writeConfig(
      [
        { name: "cold", repo: "acme/cold", floor: 0, ceiling: 2, idleTimeout: "1s", labels: ["cold"] },
        { name: "warm", repo: "acme/warm", floor: 1, ceiling: 2, idleTimeout: "1s", labels: ["warm"] },
      ],
      { github: { emu: { url: world.emulator.url, auth: { type: "push" }, webhook_secret_file: secretFile } } },
    );
    world.pushToken({ repo: "acme/cold" });
    world.pushToken({ repo: "acme/warm" });
    daemon = startDaemon(world);
    const http = await waitFor("the daemon's HTTP server", () => readStatusFile(world.stateDir)?.http, 60_000);
    world.emulator.addWebhook({ url: `${http.url}/webhooks/github`, secret });
    const emu = world.emulator;
    const registered = (repo: string) => emu.runners().filter((r) => "repo" in r.scope && r.scope.repo === repo);
    const instancesOf = async (pool: string) => (await world.instances()).filter((i) => i.pool === pool).length;

    const cold = await measure(world, "acme/cold", "cold", async () => {
      await waitFor("no cold runner left", async () => (await instancesOf("cold")) === 0 && registered("acme/cold").length === 0 || undefined, 120_000, 100);
    });
    const warm = await measure(world, "acme/warm", "warm", async () => {
      await waitFor("an idle warm runner", () => registered("acme/warm").some((r) => r.listeningAt !== null && r.jobIds.length === 0) || undefined, 120_000, 50);
    });
    const result = {
      date: new Date().toISOString(),
      cold_from_webhook_ms: summary(cold.fromWebhook),
      cold_from_queued_ms: summary(cold.fromQueued),
      warm_from_webhook_ms: summary(warm.fromWebhook),
      warm_from_queued_ms: summary(warm.fromQueued),
      emulator_schema_violations: emu.violations.length,
    };
    writeResult(values.out ?? "test-results/bench-queue-wait.json", result);
    console.log(`
| queue wait, p50 / p95 (n=${jobsPerMode}) | queued webhook answered -> job assigned | job queued -> job assigned |
|---|---|---|
| floor 0 (a runner is spawned for the job) | ${result.cold_from_webhook_ms.p50} / ${result.cold_from_webhook_ms.p95} ms | ${result.cold_from_queued_ms.p50} / ${result.cold_from_queued_ms.p95} ms |
| an idle runner waiting | ${result.warm_from_webhook_ms.p50} / ${result.warm_from_webhook_ms.p95} ms | ${result.warm_from_queued_ms.p50} / ${result.warm_from_queued_ms.p95} ms |
(written to ${values.out})`);
  } finally {
    await stopDaemon(daemon);
    await world.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
