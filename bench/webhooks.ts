// Benchmark: how many signed `workflow_job` deliveries the webhook route takes per second, at what
// latency, and what each costs the server in CPU. The server (runnerd's fastify app with only the
// webhook route and a no-op onJobEvent) runs in a child process pinned to one core with taskset
// when there are two or more; the load generator (undici, fixed concurrency) runs here, pinned to
// another core. Payloads are the emulator's GitHub-shaped ones (about 7 KiB), signed up front,
// each request with a fresh delivery id.
//
//   npm run bench:webhooks [-- --seconds 10 --concurrency 32 --warmup 2]
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { parseConfig } from "../src/config/index.js";
import { buildHttpApp } from "../src/http/server.js";
import { signWebhookBody } from "../src/http/webhook-signature.js";
import { WEBHOOK_PATH, webhookRoutes } from "../src/http/webhooks.js";
import { createLogger } from "../src/log.js";
import { enqueueJob } from "../src/emulator/job-queue.js";
import { createState } from "../src/emulator/state.js";
import { workflowJobPayload } from "../src/emulator/webhook-payload.js";
import { stopDaemon, summary } from "./stats.js";

const SECRET = "bench-webhook-secret-0123456789";

const { values } = parseArgs({
  options: {
    serve: { type: "boolean", default: false },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    concurrency: { type: "string", default: "32" },
    out: { type: "string", default: "test-results/bench-webhooks.json" },
  },
});

/** Child mode: the server, printing its URL once it listens. */
async function serve(): Promise<void> {
  const config = parseConfig(
    `state_dir: /tmp/runnerd-bench\ngithub:\n  main: { auth: { type: push } }\npools:\n  - { name: app, scope: { org: octo-org }, image: x }\n`,
    "bench.yaml",
  );
  const logger = createLogger("warn");
  const app = await buildHttpApp({
    trustProxy: false,
    logger,
    routes: [webhookRoutes({ config: () => config, secrets: () => new Map([["main", { current: SECRET }]]), logger, now: Date.now, onJobEvent: () => {} })],
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  console.log(`LISTENING http://127.0.0.1:${address.port}`);
  process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
}

/** User + system CPU time of a process, ms (from /proc; 10 ms resolution). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Realistic bodies: queued and completed events of many jobs, signed once here. */
function bodies(count: number): { body: string; signature: string }[] {
  const state = createState({ longPollMs: 1000, assignTimeoutMs: 60_000, runnerVersion: "2.330.0" });
  const result: { body: string; signature: string }[] = [];
  for (let i = 0; i < count; i++) {
    const job = enqueueJob(state, { scope: { org: "octo-org" }, repository: `octo-org/repo-${i % 17}`, labels: ["self-hosted", "linux", "x64"], script: "true", name: `build (${i})` });
    if (i % 2 === 1) {
      job.status = "completed";
      job.conclusion = "success";
      job.startedAt = job.queuedAt + 5000;
      job.completedAt = job.queuedAt + 65_000;
    }
    const { payload } = workflowJobPayload({ state, origin: "https://github.com" }, job, i % 2 === 1 ? "completed" : "queued");
    const body = JSON.stringify(payload);
    result.push({ body, signature: signWebhookBody(SECRET, body) });
  }
  return result;
}

async function startServer(pin: boolean): Promise<{ child: ChildProcess; url: string }> {
  const self = fileURLToPath(import.meta.url);
  const [command, args] = pin ? ["taskset", ["-c", "0", process.execPath, self, "--serve"]] : [process.execPath, [self, "--serve"]];
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  if (child.stdout === null) throw new Error("no stdout");
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server exited (${code})`)));
    lines.on("line", (line) => {
      if (line.startsWith("LISTENING ")) resolve(line.slice("LISTENING ".length));
    });
  });
  return { child, url };
}

async function load(url: string, payloads: { body: string; signature: string }[], concurrency: number, ms: number) {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  let next = 0;
  const end = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < end) {
      const p = payloads[next++ % payloads.length];
      if (p === undefined) throw new Error("no payload");
      const started = performance.now();
      try {
        const res = await pool.request({
          path: WEBHOOK_PATH, method: "POST", body: p.body,
          headers: {
            "content-type": "application/json", "user-agent": "GitHub-Hookshot/bench", "x-github-event": "workflow_job",
            "x-github-delivery": randomUUID(), "x-github-hook-id": "1", "x-hub-signature-256": p.signature,
          },
        });
        await res.body.dump();
        latencies.push(performance.now() - started);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  return { latencies, statuses, errors };
}

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const cores = availableParallelism();
  const pin = cores >= 2 && (() => {
    try {
      // The load generator on core 1, the server alone on core 0.
      execFileSync("taskset", ["-cp", "1", String(process.pid)], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  const payloads = bodies(1000);
  const avgBytes = Math.round(payloads.reduce((n, p) => n + Buffer.byteLength(p.body), 0) / payloads.length);
  const { child, url } = await startServer(pin);
  try {
    await load(url, payloads, concurrency, Number(values.warmup) * 1000);
    const pid = child.pid ?? 0;
    const cpuBefore = cpuMs(pid);
    const clientBefore = process.cpuUsage();
    const started = performance.now();
    const run = await load(url, payloads, concurrency, seconds * 1000);
    const wallMs = performance.now() - started;
    const serverCpuMs = cpuMs(pid) - cpuBefore;
    const clientUsage = process.cpuUsage(clientBefore);
    // Whether the load generator, not the server, was the limit.
    const clientCpuMs = (clientUsage.user + clientUsage.system) / 1000;
    const ok = run.latencies.length;
    const s = summary(run.latencies);
    const result = {
      seconds: Math.round(wallMs) / 1000, concurrency, cores, pinned: pin, payloadBytes: avgBytes,
      requests: ok, errors: run.errors, statuses: Object.fromEntries(run.statuses),
      requestsPerSecond: Math.round(ok / (wallMs / 1000)),
      latencyMs: { p50: round(s.p50), p95: round(s.p95), max: round(s.max) },
      serverCpuMs: Math.round(serverCpuMs), serverCpuUsPerRequest: Math.round((serverCpuMs * 1000) / Math.max(1, ok)),
      serverCoreBusy: round(serverCpuMs / wallMs),
      clientCoreBusy: round(clientCpuMs / wallMs),
      loadAverage: loadavg().map(round),
      node: process.version,
    };
    console.log(`webhook route, ${concurrency} concurrent, ${result.seconds} s, ${avgBytes}-byte signed workflow_job payloads${pin ? ", server pinned to core 0, client to core 1" : " (not pinned)"}`);
    console.log(`  requests     ${ok} (${run.errors} errors; statuses ${JSON.stringify(result.statuses)})`);
    console.log(`  throughput   ${result.requestsPerSecond} req/s`);
    console.log(`  latency      p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms, max ${result.latencyMs.max} ms`);
    console.log(`  server CPU   ${result.serverCpuMs} ms = ${result.serverCpuUsPerRequest} µs/request (its core ${Math.round(result.serverCoreBusy * 100)}% busy)`);
    console.log(`  client CPU   its core ${Math.round(result.clientCoreBusy * 100)}% busy; host load average ${result.loadAverage.join(" ")}`);
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await stopDaemon(child);
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

if (values.serve) await serve();
else await main();
