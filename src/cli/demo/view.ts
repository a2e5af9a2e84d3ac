// Text rendering for the demo: the live view of runners and jobs, and the closing summary.
import { table } from "../output.js";
import type { ReconcilerStatus } from "../../pools/reconciler.js";
import type { JobRecord, RunnerRecord } from "../../emulator/index.js";

export interface DemoJob {
  id: number;
  name: string;
}

export function renderLiveView(status: ReconcilerStatus | undefined, jobs: JobRecord[], now: number): string {
  const runners = status?.runners ?? [];
  const runnerRows = runners.map((r) => [r.name, r.pool, r.phase, `${Math.round((now - r.createdAt) / 1000)}s`, r.job ?? ""]);
  const jobRows = jobs.map((j) => [j.name, j.status, j.conclusion ?? "", j.runnerName ?? ""]);
  const done = jobs.filter((j) => j.status === "completed").length;
  return [
    `runnerd demo — ${done}/${jobs.length} jobs done (Ctrl-C stops and cleans up)`,
    "",
    runnerRows.length > 0 ? table(["RUNNER", "POOL", "STATE", "AGE", "JOB"], runnerRows) : "no runners yet",
    "",
    table(["JOB", "STATUS", "CONCLUSION", "RUNNER"], jobRows),
  ].join("\n");
}

export function renderSummary(jobs: JobRecord[], runners: RunnerRecord[], stops: Map<string, number>): string {
  const rows = jobs.map((j) => [j.name, j.conclusion ?? "?", j.runnerName ?? "", `${secs((j.startedAt ?? 0) - j.queuedAt)}`, `${secs((j.completedAt ?? 0) - (j.startedAt ?? 0))}`]);
  const latencies = replacementLatencies(runners, stops);
  const sorted = [...latencies].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const distinct = new Set(jobs.map((j) => j.runnerName)).size;
  return [
    "",
    "summary",
    table(["JOB", "CONCLUSION", "RUNNER", "WAITED", "RAN"], rows),
    "",
    `${jobs.length} jobs on ${distinct} different runners: every runner ran exactly one job in a fresh container.`,
    latencies.length > 0
      ? `replacement latency (runner instance stopped -> successor listening, per pool): median ${Math.round(p(0.5))} ms, worst ${Math.round(sorted.at(-1) ?? NaN)} ms over ${latencies.length} replacements`
      : "no replacement latency measured",
  ].join("\n");
}

/** For each runner that stopped, the time until the next runner of the same pool was listening. */
function replacementLatencies(runners: RunnerRecord[], stops: Map<string, number>): number[] {
  const poolOf = (name: string) => name.split("-").slice(0, -1).join("-");
  const out: number[] = [];
  for (const [name, stoppedAt] of stops) {
    const successor = runners
      .filter((r) => poolOf(r.name) === poolOf(name) && r.listeningAt !== null && (r.listeningAt ?? 0) > stoppedAt)
      .sort((a, b) => (a.listeningAt ?? 0) - (b.listeningAt ?? 0))[0];
    if (successor?.listeningAt) out.push(successor.listeningAt - stoppedAt);
  }
  return out;
}

function secs(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}
