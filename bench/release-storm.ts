// Benchmark (issue 11's measurement): a new actions/runner release is published while 20 jobs are
// queued on a JIT pool of 4. Every job must run exactly once, and runners must not loop: each
// offered runner updates itself once and still runs the job GitHub assigned it. Prints the jobs
// run, the self-updates, the image rebuilds and the instances created. The real daemon (child
// process), the real backend (RUNNERD_BACKEND), the busybox image (imported, so not rebuilt by
// runnerd: its rebuild count is 0 by construction) and the emulator.
//
//   npm run bench:release-storm [-- --jobs 20 --pool 4]
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stopDaemon, summary, writeResult } from "./stats.js";
import { createTestWorld, ensureTestImage, lxdUnavailableReason, repoRoot, waitFor } from "../test/support/lxd-harness.js";

const { values } = parseArgs({ options: { jobs: { type: "string", default: "20" }, pool: { type: "string", default: "4" }, out: { type: "string", default: "test-results/bench-release-storm.json" } } });
const jobCount = Number(values.jobs);
const poolSize = Number(values.pool);

function results(logsDir: string): Record<string, unknown>[] {
  if (!existsSync(logsDir)) return [];
  return readdirSync(logsDir)
    .map((runner) => join(logsDir, runner, "result.json"))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>);
}

async function main(): Promise<void> {
  const unavailable = await lxdUnavailableReason();
  if (unavailable) throw new Error(`the benchmark needs LXD or Incus: ${unavailable} (run scripts/setup-lxd.sh)`);
  await ensureTestImage();
  const world = await createTestWorld({ longPollMs: 5000 });
  let daemon: ChildProcess | undefined;
  try {
    const emu = world.emulator;
    const patFile = join(world.stateDir, "github-pat");
    writeFileSync(patFile, `${emu.pat}\n`, { mode: 0o600 });
    world.writeConfig([{ name: "storm", repo: "acme/storm", floor: poolSize, ceiling: poolSize, labels: ["storm"] }], {
      github: { emu: { url: emu.url, auth: { type: "pat", token_file: patFile } } },
    });
    daemon = spawn(process.execPath, [join(repoRoot, "bin/runnerd"), "--config", world.configPath, "up"], { stdio: ["ignore", "ignore", "ignore"] });
    await waitFor("the pool's runners listening", () => emu.runners().filter((r) => r.listeningAt !== null).length >= poolSize || undefined, 120_000);
    const started = Date.now();
    const jobs = Array.from({ length: jobCount }, (_, i) => emu.enqueueJob({ scope: { repo: "acme/storm" }, labels: ["self-hosted", "storm"], name: `storm-${i}`, script: "sleep 1" }));
    // The release lands while the jobs wait: every listener polling from now on is offered it.
    await emu.publishRunnerRelease("2.331.0");
    emu.offerRunnerUpdate("2.331.0");
    const done = await emu.waitForJobs(jobs.map((j) => j.id), 30 * 60_000);
    const wallMs = Date.now() - started;
    emu.offerRunnerUpdate(null);
    const history = emu.runnerHistory();
    const ranBy = jobs.map((j) => history.filter((r) => r.jobIds.includes(j.id)).length);
    await waitFor("every runner collected", () => results(join(world.stateDir, "logs")).length >= history.filter((r) => r.jobIds.length > 0).length || undefined, 120_000);
    const collected = results(join(world.stateDir, "logs"));
    const result = {
      date: new Date().toISOString(),
      backend: process.env.RUNNERD_BACKEND ?? "lxd",
      jobs: jobCount,
      pool: poolSize,
      succeeded: done.filter((j) => j.conclusion === "success").length,
      ran_exactly_once: ranBy.filter((n) => n === 1).length,
      requeued: done.filter((j) => (j.requeues ?? 0) > 0).length,
      self_updates: collected.reduce((sum, r) => sum + (typeof r.updates === "number" ? r.updates : 0), 0),
      image_rebuilds: 0,
      instances_created: history.length,
      instance_bound: jobCount + poolSize,
      wall_ms: wallMs,
      job_duration_ms: summary(done.map((j) => (j.completedAt ?? 0) - (j.queuedAt ?? 0))),
      emulator_schema_violations: emu.violations.length,
    };
    writeResult(values.out ?? "test-results/bench-release-storm.json", result);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await stopDaemon(daemon);
    await world.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
