// Benchmark: how fast runnerd replaces a finished runner, how many no-op jobs it pushes through
// with 4 runners, and what the daemon costs. Runs the real daemon (`bin/runnerd up`, a child
// process) against the real LXD and the GitHub emulator. Prints a table; writes JSON.
//
//   npm run bench [-- --cycles 50 --jobs 60 --auth push|pat|app] [--cluster]
//
// With --cluster, against the 3-member test cluster of scripts/setup-cluster.sh (RUNNERD_BACKEND):
// runnerd talks to m1, the pool spreads its runners over the members.
//
// With --auth pat or app, runners get JIT configs and the GitHub API calls per runner cycle are
// counted at the emulator (GitHub allows 5,000 an hour per PAT or app installation).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stopDaemon, summary } from "./stats.js";
import { createTestWorld, ensureTestImage, lxdUnavailableReason, repoRoot, waitFor, watchStops, type PoolInput, type TestWorld } from "../test/support/lxd-harness.js";
import { bridgeAddress, clusterUnavailableReason, emulatorDevice, forwardToLoopback, pointHarnessAtCluster } from "../test/support/cluster-harness.js";

const { values } = parseArgs({
  options: { cycles: { type: "string", default: "50" }, jobs: { type: "string", default: "60" }, auth: { type: "string", default: "push" }, out: { type: "string", default: "test-results/bench.json" }, cluster: { type: "boolean", default: false } },
});
if (!["push", "pat", "app"].includes(values.auth)) throw new Error("--auth must be push, pat or app");
const cycles = Number(values.cycles);
const throughputJobs = Number(values.jobs);


/** CPU time (ms) and resident memory (bytes) of a process, from /proc. */
function procUsage(pid: number): { cpuMs: number; rss: number; hwm: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { cpuMs: (ticks * 1000) / 100, rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** The `github:` section for the chosen credential mode; secrets go in 0600 files. */
function githubConfig(world: TestWorld, auth: string): Record<string, unknown> {
  const emu = world.emulator;
  if (auth === "push") return {};
  const file = join(world.stateDir, auth === "pat" ? "pat" : "app.pem");
  if (auth === "pat") {
    writeFileSync(file, emu.pat, { mode: 0o600 });
    return { github: { emu: { url: emu.url, auth: { type: "pat", token_file: file } } } };
  }
  const app = emu.createApp();
  emu.installApp(app.id, "acme");
  writeFileSync(file, app.privateKeyPem, { mode: 0o600 });
  return { github: { emu: { url: emu.url, auth: { type: "app", app_id: app.id, private_key_file: file } } } };
}

function startDaemon(world: TestWorld): ChildProcess {
  const log = join(world.stateDir, "daemon.log");
  const child = spawn(process.execPath, [join(repoRoot, "bin/runnerd"), "--config", world.configPath, "up"], { stdio: ["ignore", "pipe", "pipe"] });
  const chunks: string[] = [];
  child.stdout?.on("data", (d: Buffer) => chunks.push(d.toString()));
  child.stderr?.on("data", (d: Buffer) => chunks.push(d.toString()));
  child.on("exit", () => writeFileSync(log, chunks.join("")));
  return child;
}

async function main(): Promise<void> {
  if (values.cluster) {
    const reason = await clusterUnavailableReason();
    if (reason) throw new Error(`--cluster needs the test cluster: ${reason}`);
    pointHarnessAtCluster("m1");
  }
  const unavailable = await lxdUnavailableReason();
  if (unavailable) throw new Error(`the benchmark needs LXD: ${unavailable} (run scripts/setup-lxd.sh)`);
  await ensureTestImage();
  const world = await createTestWorld({ longPollMs: 5000 });
  const forwarder = values.cluster ? await forwardToLoopback(bridgeAddress(), world.emulator.port) : undefined;
  const pool = (floor: number): PoolInput => ({
    name: "bench",
    repo: "acme/bench",
    floor,
    ceiling: floor,
    ...(values.cluster ? { devices: emulatorDevice(world.emulator.port), placement: { spread: true } } : {}),
  });
  process.stderr.write(`state dir ${world.stateDir}\n`);
  const { stops, events } = watchStops(world.lxd);
  await events.ready;
  let daemon: ChildProcess | undefined;
  try {
    const github = githubConfig(world, values.auth);
    world.writeConfig([pool(1)], { log_level: process.env.RUNNERD_BENCH_LOG_LEVEL ?? "warn", ...github });
    if (values.auth === "push") world.pushToken({ repo: "acme/bench" });
    daemon = startDaemon(world);
    const pid = daemon.pid ?? 0;
    const idleRunner = (exclude: Set<string>) => waitFor("an idle runner", () => world.emulator.runners().find((r) => r.listeningAt !== null && r.jobIds.length === 0 && !exclude.has(r.name)), 60_000, 20);

    // Phase 1: replacement latency, one runner at a time.
    const replacement: number[] = [];
    const jobToListening: number[] = [];
    const used = new Set<string>();
    let current = await idleRunner(used);
    const cpuBefore = procUsage(pid).cpuMs;
    let peakRss = 0;
    world.emulator.clearApiCalls();
    for (let i = 0; i < cycles; i++) {
      used.add(current.name);
      const job = world.emulator.enqueueJob({ scope: { repo: "acme/bench" }, labels: ["self-hosted"], name: `cycle-${i}`, script: "true" });
      const [done] = await world.emulator.waitForJobs([job.id], 60_000);
      const next = await idleRunner(used);
      // Incus sends instance-shutdown at the end of its stop clean-up; a runner collected before
      // that (seen on the test cluster) has no stop event: counted in the job-to-listening row only.
      const stoppedAt = await waitFor(`stop event of ${current.name}`, () => stops.get(current.name), 5_000, 10).catch(() => undefined);
      if (stoppedAt !== undefined) replacement.push((next.listeningAt ?? NaN) - stoppedAt);
      jobToListening.push((next.listeningAt ?? NaN) - (done?.completedAt ?? NaN));
      peakRss = Math.max(peakRss, procUsage(pid).rss);
      current = next;
      process.stderr.write(`\rcycle ${i + 1}/${cycles}: replacement ${replacement.at(-1)} ms   `);
    }
    process.stderr.write("\n");
    const cpuPerCycle = (procUsage(pid).cpuMs - cpuBefore) / cycles;
    const apiCalls = world.emulator.apiCalls();
    const callsPerCycle = apiCalls.length / cycles;
    const callKinds = [...new Set(apiCalls.map((c) => `${c.method} ${c.operationId}`))].map((k) => `${k} x${apiCalls.filter((c) => `${c.method} ${c.operationId}` === k).length}`);

    // Phase 2: throughput of no-op jobs with 4 parallel runners.
    world.writeConfig([pool(4)], { log_level: "warn", ...github });
    daemon.kill("SIGHUP");
    await waitFor("4 idle runners", () => world.emulator.runners().filter((r) => r.listeningAt !== null && r.jobIds.length === 0).length >= 4 || undefined, 60_000, 50);
    const t0 = Date.now();
    const jobs = Array.from({ length: throughputJobs }, (_, i) => world.emulator.enqueueJob({ scope: { repo: "acme/bench" }, labels: ["self-hosted"], name: `tp-${i}`, script: "true" }));
    await world.emulator.waitForJobs(jobs.map((j) => j.id), 600_000);
    const seconds = (Date.now() - t0) / 1000;
    const usage = procUsage(pid);
    peakRss = Math.max(peakRss, usage.rss);

    const result = {
      date: new Date().toISOString(),
      machine: { cpus: (await import("node:os")).cpus().length, kernel: (await import("node:os")).release() },
      replacement_ms: summary(replacement),
      job_completed_to_replacement_listening_ms: summary(jobToListening),
      throughput: { runners: 4, jobs: throughputJobs, seconds, jobs_per_minute: Math.round((throughputJobs / seconds) * 60 * 10) / 10 },
      daemon: { peak_rss_mb: Math.round(peakRss / 2 ** 20), vm_hwm_mb: Math.round(usage.hwm / 2 ** 20), cpu_ms_per_cycle: Math.round(cpuPerCycle) },
      auth: values.auth,
      cluster: values.cluster,
      github_api_calls: { per_cycle: callsPerCycle, kinds: callKinds, cycles_per_hour_within_5000: callsPerCycle > 0 ? Math.floor(5000 / callsPerCycle) : null },
      emulator_schema_violations: world.emulator.violations.length,
    };
    mkdirSync(join(repoRoot, "test-results"), { recursive: true });
    writeFileSync(join(repoRoot, values.out ?? "test-results/bench.json"), `${JSON.stringify(result, null, 2)}\n`);
    const r = result.replacement_ms;
    const j = result.job_completed_to_replacement_listening_ms;
    console.log(`
| measure                                              | p50      | p95      | n   |
|------------------------------------------------------|----------|----------|-----|
| replacement: instance stopped -> successor listening | ${String(r.p50).padStart(5)} ms | ${String(r.p95).padStart(5)} ms | ${r.n} |
| job completed -> successor listening                 | ${String(j.p50).padStart(5)} ms | ${String(j.p95).padStart(5)} ms | ${j.n} |

throughput: ${throughputJobs} no-op jobs on 4 runners in ${seconds.toFixed(1)} s = ${result.throughput.jobs_per_minute} jobs/min
auth ${values.auth}: ${callsPerCycle.toFixed(2)} GitHub API calls per runner cycle (${callKinds.join(", ") || "none"})${callsPerCycle > 0 ? ` -> ${Math.floor(5000 / callsPerCycle)} cycles/hour fit in 5,000 requests/hour` : ""}
daemon: peak RSS ${result.daemon.peak_rss_mb} MB (VmHWM ${result.daemon.vm_hwm_mb} MB), CPU ${result.daemon.cpu_ms_per_cycle} ms per runner cycle
(written to ${values.out})`);
  } finally {
    events.close();
    await stopDaemon(daemon);
    await world.cleanup();
    forwarder?.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
