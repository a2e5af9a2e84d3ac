// Benchmark without LXD: the real reconciler (observe, plan, dispatch, actions) against an
// in-process LXD (fake-lxd.ts) holding N runners on 10 cluster members, at several N. Measures
// per N: the pass time in a steady state (all runners idle, floors met, a pass per resync),
// LXD calls per pass then and during churn (jobs start and finish, runners are collected and
// replaced), and the process's CPU time per runner cycle (spawn > idle > busy > finished >
// collected) in that churn. Time is simulated (an injected clock); passes run back to back.
//
//   npm run bench:scale [-- --sizes 50,100,250,500 --passes 200 --cycles 400 --latency-ms 0]
//
// The simulated jobs come with webhooks, as a deployment of this size would have: a job is
// queued (the pool's demand rises), a pass runs, then a runner takes it (demand falls) and another
// pass runs, and the daemon passes on the runner the in_progress webhook names (runnerTookJob).
// `--no-job-news` leaves that last part out; `--no-webhooks` leaves demand out too (a push
// deployment without a webhook).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { Reconciler } from "../src/pools/reconciler.js";
import type { HistoryPort, TokenPort } from "../src/pools/ports.js";
import type { ReconcilerSettings } from "../src/pools/settings.js";
import { poolRuntime } from "../src/pools/test-support.js";
import { SimLxd } from "./fake-lxd.js";
import { summary, writeResult } from "./stats.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "50,100,250,500" },
    passes: { type: "string", default: "200" },
    cycles: { type: "string", default: "400" },
    "latency-ms": { type: "string", default: "0" },
    "no-webhooks": { type: "boolean", default: false },
    "no-job-news": { type: "boolean", default: false },
    out: { type: "string", default: "test-results/bench-scale.json" },
  },
});
const members = 10;
const poolCount = 10;
const resyncMs = 15_000;
const jobMs = 5_000;
const tickMs = 1_000;
const webhooks = !values["no-webhooks"];
/** The in_progress webhook names the runner, and the daemon tells the reconciler (runnerTookJob). */
const jobNews = webhooks && !values["no-job-news"];

const noHistory: HistoryPort = {
  recordRunnerCreated() {},
  markRunnerListening() {},
  markRunnerBusy() {},
  markRunnerStopped() {},
  recordRunnerResult() {},
  markRunnerDeleted() {},
  addEvent() {},
};

function settings(n: number, logsDir: string): ReconcilerSettings {
  const pools = Array.from({ length: poolCount }, (_, i) => poolRuntime(`p${String(i + 1).padStart(2, "0")}`, { floor: n / poolCount, ceiling: (2 * n) / poolCount }));
  return {
    controllerId: "sim",
    logsDir,
    maxRunnerLogBytes: 1024 * 1024,
    // The simulated resync (runnerd's default); no real timer runs it: the reconciler is never
    // start()ed, the simulation asks for each pass.
    resyncIntervalMs: resyncMs,
    spawnConcurrency: 8,
    collectConcurrency: 8,
    plan: { maxRunners: n * 2, bootTimeoutMs: 300_000, jobTimeoutMs: 6 * 3_600_000, tokenMinValidityMs: 300_000, startingPollMs: 500, finishingTimeoutMs: 60_000 },
    pools,
  };
}

/** A small deterministic generator, so that runs compare. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface World {
  lxd: SimLxd;
  reconciler: Reconciler;
  clock: { t: number };
  demand: Map<string, number>;
  passMs: number[];
  collected: { n: number };
  pass(): Promise<void>;
  stop(): Promise<void>;
}

function createWorld(n: number): World {
  const clock = { t: Date.parse("2026-01-01T00:00:00Z") };
  const lxd = new SimLxd(members, () => clock.t);
  lxd.latencyMs = Number(values["latency-ms"]);
  const logsDir = mkdtempSync(join(tmpdir(), "runnerd-scale-sim-"));
  const config = settings(n, logsDir);
  const expiresAt = new Date(clock.t + 365 * 86_400_000);
  const tokens: TokenPort = {
    getToken: () => ({ token: "t", expiresAt }),
    listTokens: () => config.pools.map((p) => ({ scope: p.spec.scope, expiresAt })),
  };
  const demand = new Map<string, number>();
  const passMs: number[] = [];
  const collected = { n: 0 };
  let statusSeen = () => {};
  let serial = 0;
  const reconciler = new Reconciler(
    {
      lxd,
      tokens,
      history: noHistory,
      ...(webhooks ? { demand: () => demand } : {}),
      observer: { passDone: (ms) => void passMs.push(ms), collected: () => void collected.n++ },
      logger: pino({ level: "silent" }),
      now: () => clock.t,
      random: () => 0.5,
      agentScript: "#!/bin/sh\n",
      onStatus: () => statusSeen(),
      newName: (prefix, pool) => `${prefix}-${pool}-${(++serial).toString(36)}`,
    },
    config,
  );
  for (const pool of config.pools) for (let i = 0; i < pool.spec.floor; i++) lxd.addRunner(`rd-${pool.spec.name}-a${i}`, pool.spec.name, "sim", "idle");
  // Whether a pass runs is the loop's own state (no LXD call tells it: a pass may await other
  // things before its first one). Waiting on passes' ends rather than polling keeps the CPU
  // time measured runnerd's.
  const loop = reconciler as unknown as { running: boolean };
  /** One requested pass, then every pass and action it leads to, until all is quiet. */
  const pass = async () => {
    reconciler.requestPass("sim");
    // An action that ends asks for a pass, and a pass that ends publishes: wait for those.
    while (loop.running || reconciler.inFlightNames().length > 0) {
      await new Promise<void>((resolve) => (statusSeen = resolve));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const stop = async () => {
    await reconciler.shutdown(5_000);
    rmSync(logsDir, { recursive: true, force: true });
  };
  return { lxd, reconciler, clock, demand, passMs, collected, pass, stop };
}

/** Nothing changes: a pass per resync interval. Before it, each pool has heard of a job (webhooks). */
async function steady(w: World, passes: number): Promise<{ passMs: ReturnType<typeof summary>; calls: ReturnType<typeof summary>; statusReads: number }> {
  await w.pass();
  for (const pool of new Set([...w.lxd.instances.values()].map((i) => i.config["user.runnerd.pool"] ?? ""))) w.demand.set(pool, 1);
  await w.pass();
  w.demand.clear();
  await w.pass();
  w.clock.t += resyncMs;
  await w.pass(); // a warm-up pass: the first re-reads after the adoption
  w.passMs.length = 0;
  const calls: number[] = [];
  const readsBefore = w.lxd.calls.get("pullFile(status)") ?? 0;
  for (let i = 0; i < passes; i++) {
    w.clock.t += resyncMs;
    const before = w.lxd.totalCalls();
    await w.pass();
    calls.push(w.lxd.totalCalls() - before);
  }
  return { passMs: summary(w.passMs), calls: summary(calls), statusReads: ((w.lxd.calls.get("pullFile(status)") ?? 0) - readsBefore) / passes };
}

interface Churn {
  cycles: number;
  passes: number;
  callsPerPass: number;
  statusReadsPerPass: number;
  /** Status reads per runner cycle: what a job costs LXD in reads, however many passes it took. */
  statusReadsPerCycle: number;
  cpuMsPerCycle: number;
  /** Simulated ms from a runner taking its job until a pass shows it busy (or later). */
  busySeen: ReturnType<typeof summary>;
  peakRssMb: number;
}

/** Jobs arrive every tick; each runs jobMs, its runner powers off and is replaced. */
async function churn(w: World, n: number, cycles: number): Promise<Churn> {
  const random = prng(n);
  const jobsPerTick = Math.max(1, Math.round(n / 50));
  const running = new Map<string, number>();
  const waiting = new Map<string, number>();
  const busySeen: number[] = [];
  const startCollected = w.collected.n;
  const startCalls = w.lxd.totalCalls();
  const startReads = w.lxd.calls.get("pullFile(status)") ?? 0;
  const startPasses = w.passMs.length;
  const cpu = process.cpuUsage();
  let peakRss = 0;
  let job = 0;
  while (w.collected.n - startCollected < cycles) {
    w.clock.t += tickMs;
    for (const name of w.lxd.namesIn("configuring")) w.lxd.setAgent(name, "idle");
    for (const [name, since] of running) {
      if (w.clock.t - since < jobMs) continue;
      w.lxd.finishJob(name, `job-${job}`);
      running.delete(name);
    }
    await w.pass(); // the stop events, and the agents that now listen
    const idle = w.lxd.namesIn("idle").filter((name) => !running.has(name));
    const taken = Array.from({ length: Math.min(jobsPerTick, idle.length) }, () => idle.splice(Math.floor(random() * idle.length), 1)[0] ?? "");
    for (const name of taken) bump(w, name, 1);
    if (webhooks) await w.pass(); // the queued webhooks
    for (const name of taken) {
      w.lxd.setAgent(name, "busy", `job-${++job}`);
      bump(w, name, -1);
      if (jobNews) w.reconciler.runnerTookJob(name);
      running.set(name, w.clock.t);
      waiting.set(name, w.clock.t);
    }
    await w.pass(); // the in_progress webhooks (or the next resync)
    noteBusySeen(w, waiting, busySeen);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const used = process.cpuUsage(cpu);
  const done = w.collected.n - startCollected;
  const passes = w.passMs.length - startPasses;
  return {
    cycles: done,
    passes,
    callsPerPass: (w.lxd.totalCalls() - startCalls) / passes,
    statusReadsPerPass: ((w.lxd.calls.get("pullFile(status)") ?? 0) - startReads) / passes,
    statusReadsPerCycle: ((w.lxd.calls.get("pullFile(status)") ?? 0) - startReads) / done,
    cpuMsPerCycle: (used.user + used.system) / 1000 / done,
    busySeen: summary(busySeen),
    peakRssMb: Math.round(peakRss / 2 ** 20),
  };
}

function bump(w: World, runner: string, by: number): void {
  const pool = w.lxd.instances.get(runner)?.config["user.runnerd.pool"] ?? "";
  w.demand.set(pool, Math.max(0, (w.demand.get(pool) ?? 0) + by));
}

function noteBusySeen(w: World, waiting: Map<string, number>, out: number[]): void {
  const phases = new Map((w.reconciler.status()?.runners ?? []).map((r) => [r.name, r.phase]));
  for (const [name, at] of waiting) {
    const phase = phases.get(name);
    if (phase === "idle" || phase === "starting") continue;
    out.push(w.clock.t - at);
    waiting.delete(name);
  }
}

async function main(): Promise<void> {
  const sizes = values.sizes.split(",").map(Number);
  const rows = [];
  for (const n of sizes) {
    const w = createWorld(n);
    try {
      const s = await steady(w, Number(values.passes));
      const c = await churn(w, n, Number(values.cycles));
      rows.push({ n, steady: s, churn: c });
      process.stderr.write(`N=${n} done\n`);
    } finally {
      await w.stop();
    }
  }
  const fmt = (x: number, d = 1) => x.toFixed(d).padStart(7);
  console.log(`
webhooks: ${webhooks ? "yes" : "no"}; runner named by in_progress passed on: ${jobNews ? "yes" : "no"}; LXD latency per call ${values["latency-ms"]} ms; steady: ${values.passes} passes, one per ${resyncMs / 1000} s resync; churn: jobs of ${jobMs / 1000} s

|   N | pass p50 ms | pass p95 ms | steady calls/pass (p50/p95) | steady status reads/pass | churn calls/pass | churn status reads/cycle | CPU ms/cycle | busy seen p95 s | cycles | peak RSS MB |
|-----|-------------|-------------|-----------------------------|--------------------------|------------------|--------------------------|--------------|-----------------|--------|-------------|`);
  for (const { n, steady: s, churn: c } of rows) {
    console.log(
      `| ${String(n).padStart(3)} | ${fmt(s.passMs.p50, 2)}     | ${fmt(s.passMs.p95, 2)}     | ${String(s.calls.p50).padStart(6)} / ${String(s.calls.p95).padEnd(6)}             | ${fmt(s.statusReads)}                  | ${fmt(c.callsPerPass)}          | ${fmt(c.statusReadsPerCycle)}                  | ${fmt(c.cpuMsPerCycle, 2)}      | ${fmt(c.busySeen.p95 / 1000)}         | ${String(c.cycles).padStart(6)} | ${String(c.peakRssMb).padStart(11)} |`,
    );
  }
  writeResult(values.out, { date: new Date().toISOString(), webhooks, jobNews, latencyMs: Number(values["latency-ms"]), resyncMs, jobMs, rows });
  console.log(`(written to ${values.out})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
