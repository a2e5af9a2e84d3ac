// Benchmark (issue 13's measurement): a burst of jobs on a pool that scales from nothing. The pool
// has floor 0 (configurable), ceiling N and `max_runners` N; 2N jobs are enqueued at once and reach
// the daemon as the emulator's signed `workflow_job` webhooks. Prints, per job, the queue wait
// (the emulator's queued time -> assigned to a runner, and the daemon answering the `queued`
// delivery -> assigned), per runner, the time from its job completing at the emulator to runnerd
// starting to collect it (the history db's `stopped_at`, written as the collection starts), the
// collection's own duration (the daemon's "runner collected" log line, `ms`), whether every job ran
// exactly once, the wall time and the peak instances LXD held. The real daemon (child process),
// the real backend (RUNNERD_BACKEND), the busybox image and the emulator.
//
//   npm run bench:burst [-- --jobs 80 --runners 40 --floor 0 --script "sleep 5" --spawn-concurrency 4 --collect-concurrency 8]
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stopDaemon, summary, writeResult } from "./stats.js";
import { createTestWorld, ensureTestImage, lxdUnavailableReason, repoRoot, waitFor, type TestWorld } from "../test/support/lxd-harness.js";
import { readStatusFile } from "../src/daemon/state-files.js";
import type { JobRecord } from "../src/emulator/types.js";
import { openStore } from "../src/store/index.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "80" },
    runners: { type: "string", default: "40" },
    floor: { type: "string", default: "0" },
    script: { type: "string", default: "sleep 5" },
    /** runnerd's spawn_concurrency and collect_concurrency; absent: runnerd's defaults. */
    "spawn-concurrency": { type: "string" },
    "collect-concurrency": { type: "string" },
    out: { type: "string", default: "test-results/bench-burst.json" },
  },
});
const jobCount = Number(values.jobs);
const ceiling = Number(values.runners);
const floor = Number(values.floor);
const secret = "bench-webhook-secret";
const label = "burst";

/** The daemon's JSON log lines (pino, on stdout; stderr is read too in case anything lands there). */
interface DaemonLog {
  lines: Record<string, unknown>[];
  unparsed: string[];
}

function startDaemon(world: TestWorld, log: DaemonLog): ChildProcess {
  const child = spawn(process.execPath, [join(repoRoot, "bin/runnerd"), "--config", world.configPath, "up"], { stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = "";
    stream?.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts.filter((l) => l.trim() !== "")) {
        try {
          log.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          log.unparsed.push(line);
        }
      }
    });
  }
  return child;
}

/** Polls LXD for the world's instances until stopped; keeps the peak count (any state, and running). */
function sampleInstances(world: TestWorld, everyMs: number): { stop: () => Promise<{ peak: number; peakRunning: number; samples: number; errors: number }> } {
  let peak = 0;
  let peakRunning = 0;
  let samples = 0;
  let errors = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const list = await world.instances();
        samples++;
        peak = Math.max(peak, list.length);
        peakRunning = Math.max(peakRunning, list.filter((i) => i.status === "Running").length);
      } catch {
        errors++;
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { peak, peakRunning, samples, errors };
    },
  };
}

/** Each job's runner must be recorded as collected (deleted) by runnerd; returns name -> collection start (ms). */
async function collectionStarts(stateDir: string, runnerNames: string[], timeoutMs: number): Promise<Map<string, number>> {
  const starts = new Map<string, number>();
  const store = openStore(stateDir);
  try {
    await waitFor(
      "every job's runner collected",
      () => {
        for (const name of runnerNames) {
          if (starts.has(name)) continue;
          const record = store.getRunner(name);
          if (record?.stoppedAt && record.deletedAt) starts.set(name, record.stoppedAt.getTime());
        }
        return starts.size >= runnerNames.length || undefined;
      },
      timeoutMs,
      250,
    );
  } finally {
    store.close();
  }
  return starts;
}

/** Exactly once: every job succeeded, each appears in one runner's job list, and each runner ran one job. */
function exactlyOnce(world: TestWorld, done: JobRecord[]) {
  const history = world.emulator.runnerHistory();
  const ranBy = done.map((j) => history.filter((r) => r.jobIds.includes(j.id)).length);
  const names = new Set(done.map((j) => j.runnerName).filter((n): n is string => n !== null));
  const succeeded = done.filter((j) => j.conclusion === "success").length;
  const ranOnce = ranBy.filter((n) => n === 1).length;
  const runnersWithSeveralJobs = history.filter((r) => r.jobIds.length > 1).length;
  return {
    succeeded,
    ran_exactly_once: ranOnce,
    distinct_runner_names: names.size,
    requeued: done.filter((j) => j.requeues > 0).length,
    runners_with_several_jobs: runnersWithSeveralJobs,
    runners_registered: history.length,
    ok: succeeded === jobCount && ranOnce === jobCount && names.size === jobCount && runnersWithSeveralJobs === 0,
  };
}

/** The daemon's warnings and errors, counted by message, and its "runner collected" durations by runner. */
function readDaemonLog(log: DaemonLog) {
  const problems: Record<string, number> = {};
  const collectMs = new Map<string, number>();
  const spawnMs: number[] = [];
  for (const line of log.lines) {
    const level = typeof line.level === "number" ? line.level : 0;
    const msg = typeof line.msg === "string" ? line.msg : "";
    if (level >= 40) problems[`${level >= 50 ? "error" : "warn"}: ${msg}`] = (problems[`${level >= 50 ? "error" : "warn"}: ${msg}`] ?? 0) + 1;
    if (msg === "runner collected" && typeof line.runner === "string" && typeof line.ms === "number") collectMs.set(line.runner, line.ms);
    if (msg === "runner spawned" && typeof line.ms === "number") spawnMs.push(line.ms);
  }
  return { problems, collectMs, spawnMs, unparsed: log.unparsed.length };
}

/** Enqueues every job at once and waits for them and their runners' collection; returns the raw times. */
async function burst(world: TestWorld, daemonLog: DaemonLog) {
  const emu = world.emulator;
  const sampler = sampleInstances(world, 500);
  const started = Date.now();
  const jobs = Array.from({ length: jobCount }, (_, i) => emu.enqueueJob({ scope: { repo: "acme/burst" }, labels: ["self-hosted", label], name: `burst-${i}`, script: values.script ?? "sleep 5" }));
  let lastDone = started;
  const progress = setInterval(() => {
    const finished = emu.jobs().filter((j) => j.status === "completed").length;
    process.stderr.write(`\rjobs completed ${finished}/${jobCount}, ${Math.round((Date.now() - started) / 1000)} s   `);
  }, 1000);
  let done: JobRecord[];
  try {
    done = await emu.waitForJobs(jobs.map((j) => j.id), 30 * 60_000);
    lastDone = Date.now();
  } finally {
    clearInterval(progress);
    process.stderr.write("\n");
  }
  const names = done.map((j) => j.runnerName).filter((n): n is string => n !== null);
  const starts = await collectionStarts(world.stateDir, names, 5 * 60_000);
  const lastCollected = Date.now();
  const instances = await sampler.stop();
  return { started, lastDone, lastCollected, done, starts, instances, log: readDaemonLog(daemonLog) };
}

type BurstRun = Awaited<ReturnType<typeof burst>>;

function figures(world: TestWorld, run: BurstRun) {
  const deliveries = world.emulator.webhookDeliveries();
  const fromQueued: number[] = [];
  const fromWebhook: number[] = [];
  const doneToCollect: number[] = [];
  const collectMs: number[] = [];
  for (const job of run.done) {
    if (job.assignedAt !== null) fromQueued.push(job.assignedAt - job.queuedAt);
    const queued = deliveries.find((d) => d.jobId === job.id && d.action === "queued" && !d.redelivery);
    if (queued?.durationMs != null && job.assignedAt !== null) fromWebhook.push(Math.round(job.assignedAt - (queued.createdAt + queued.durationMs)));
    const start = job.runnerName === null ? undefined : run.starts.get(job.runnerName);
    if (start !== undefined && job.completedAt !== null) doneToCollect.push(start - job.completedAt);
    const ms = job.runnerName === null ? undefined : run.log.collectMs.get(job.runnerName);
    if (ms !== undefined) collectMs.push(ms);
  }
  const failedDeliveries = deliveries.filter((d) => d.status !== null && (d.status < 200 || d.status >= 300)).length;
  return { fromQueued, fromWebhook, doneToCollect, collectMs, deliveries: deliveries.length, failedDeliveries };
}

function report(world: TestWorld, run: BurstRun) {
  const f = figures(world, run);
  return {
    date: new Date().toISOString(),
    backend: process.env.RUNNERD_BACKEND ?? "lxd",
    jobs: jobCount,
    ceiling,
    max_runners: ceiling,
    floor,
    script: values.script,
    queue_wait_from_queued_ms: summary(f.fromQueued),
    queue_wait_from_webhook_answered_ms: summary(f.fromWebhook),
    job_done_to_collection_started_ms: summary(f.doneToCollect),
    collection_ms: summary(f.collectMs),
    spawn_ms: summary(run.log.spawnMs),
    exactly_once: exactlyOnce(world, run.done),
    wall_ms_to_last_job_done: run.lastDone - run.started,
    wall_ms_to_last_runner_collected: run.lastCollected - run.started,
    peak_instances: run.instances.peak,
    peak_running_instances: run.instances.peakRunning,
    // Stopped instances (finished, waiting for collection; or created, not yet started) do not
    // count toward the ceiling (src/pools/plan.ts activePhases): only running ones are checked.
    ceiling_exceeded: run.instances.peakRunning > ceiling,
    instance_samples: run.instances.samples,
    instance_sample_errors: run.instances.errors,
    webhook_deliveries: f.deliveries,
    webhook_deliveries_failed: f.failedDeliveries,
    daemon_log_problems: run.log.problems,
    daemon_log_unparsed_lines: run.log.unparsed,
    emulator_schema_violations: world.emulator.violations.length,
  };
}

function print(result: ReturnType<typeof report>): void {
  const row = (name: string, s: { n: number; p50: number; p95: number; max: number }) => `| ${name} | ${s.n} | ${s.p50} | ${s.p95} | ${s.max} |`;
  console.log(`
| ${jobCount} jobs, ceiling ${ceiling}, floor ${floor}, "${result.script}" | n | p50 ms | p95 ms | max ms |
|---|---|---|---|---|
${row("queue wait: job queued (emulator) -> assigned", result.queue_wait_from_queued_ms)}
${row("queue wait: queued webhook answered -> assigned", result.queue_wait_from_webhook_answered_ms)}
${row("job completed (emulator) -> collection started", result.job_done_to_collection_started_ms)}
${row("collection (runner collected, ms)", result.collection_ms)}
${row("spawn (runner spawned, ms)", result.spawn_ms)}

every job ran exactly once: ${result.exactly_once.ok ? "yes" : "NO"} (${result.exactly_once.succeeded} succeeded, ${result.exactly_once.distinct_runner_names} distinct runners, ${result.exactly_once.requeued} requeued)
wall time: ${result.wall_ms_to_last_job_done} ms to the last job done, ${result.wall_ms_to_last_runner_collected} ms to the last runner collected
peak instances: ${result.peak_instances} in any state, ${result.peak_running_instances} running (ceiling ${ceiling}${result.ceiling_exceeded ? ", EXCEEDED" : ", kept"})
daemon warnings/errors: ${JSON.stringify(result.daemon_log_problems)}
(written to ${values.out})`);
}

async function main(): Promise<void> {
  const unavailable = await lxdUnavailableReason();
  if (unavailable) throw new Error(`the benchmark needs LXD or Incus: ${unavailable} (run scripts/setup-lxd.sh)`);
  await ensureTestImage();
  const world = await createTestWorld({ longPollMs: 5000 });
  let daemon: ChildProcess | undefined;
  try {
    const secretFile = join(world.stateDir, "webhook-secret");
    writeFileSync(secretFile, secret, { mode: 0o600 });
    world.writeConfig([{ name: "burst", repo: "acme/burst", floor, ceiling, idleTimeout: "1m", labels: [label] }], {
      max_runners: ceiling,
      ...(values["spawn-concurrency"] ? { spawn_concurrency: Number(values["spawn-concurrency"]) } : {}),
      ...(values["collect-concurrency"] ? { collect_concurrency: Number(values["collect-concurrency"]) } : {}),
      // "runner collected" (with `ms`) is logged at info.
      log_level: "info",
      github: { emu: { url: world.emulator.url, auth: { type: "push" }, webhook_secret_file: secretFile } },
    });
    world.pushToken({ repo: "acme/burst" });
    const daemonLog: DaemonLog = { lines: [], unparsed: [] };
    daemon = startDaemon(world, daemonLog);
    const http = await waitFor("the daemon's HTTP server", () => readStatusFile(world.stateDir)?.http, 60_000);
    world.emulator.addWebhook({ url: `${http.url}/webhooks/github`, secret });
    if (floor > 0) await waitFor("the floor's runners listening", () => world.emulator.runners().filter((r) => r.listeningAt !== null).length >= floor || undefined, 120_000);
    const result = report(world, await burst(world, daemonLog));
    writeResult(values.out ?? "test-results/bench-burst.json", result);
    print(result);
  } finally {
    await stopDaemon(daemon);
    await world.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
