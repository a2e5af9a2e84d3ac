// `runnerd logs RUNNER [--file agent|runner|diag|result]`: a finished runner's saved logs, under
// what the store recorded about it.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { listRunnerLogDirs } from "../pools/log-retention.js";
import { readAgentResult, type AgentResult } from "../pools/runner-record.js";
import { openSavedLogs, type SavedLogs } from "../pools/saved-logs.js";
import { openStore, type RunnerRecord } from "../store/index.js";
import { loadCliConfig, type GlobalOptions } from "./context.js";
import { humanDuration } from "./output.js";

const fileChoices = ["agent", "runner", "diag", "result"] as const;
export type LogChoice = (typeof fileChoices)[number];
const fileNames: Record<Exclude<LogChoice, "diag">, string> = { agent: "agent.log", runner: "runner.log", result: "result.json" };

export function registerLogsCommand(program: Command): void {
  program
    .command("logs")
    .argument("<runner>", "runner (instance) name, as in `runnerd jobs` or `runnerd status`")
    .option("--file <file>", `only one file: ${fileChoices.join(", ")} (diag: the runner's _diag logs)`)
    .description("a finished runner's saved logs: its record, result.json, agent.log and runner.log")
    .action((name: string, opts: { file?: string }) => {
      const { config } = loadCliConfig(program.opts<GlobalOptions>());
      const file = opts.file === undefined ? undefined : logChoice(opts.file);
      const logsDir = join(config.state_dir, "logs");
      const store = openStore(config.state_dir);
      let record: RunnerRecord | null;
      try {
        record = store.getRunner(name);
      } finally {
        store.close();
      }
      process.stdout.write(runnerLogsText(logsDir, name, record, file));
    });
}

function logChoice(value: string): LogChoice {
  if ((fileChoices as readonly string[]).includes(value)) return value as LogChoice;
  throw new UsageError(`logs: --file must be one of ${fileChoices.join(", ")}, not "${value}"`);
}

/**
 * What `runnerd logs` prints. A UsageError (exit 2) for a runner without saved logs, naming the
 * newest runners that have some; an Error (exit 1) when the asked-for file was not saved.
 */
export function runnerLogsText(logsDir: string, name: string, record: RunnerRecord | null, file?: LogChoice): string {
  // Runner names never hold a path separator; refusing them keeps reads inside logsDir.
  const dir = join(logsDir, name);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || !existsSync(dir)) throw new UsageError(unknownRunner(logsDir, name, record));
  const logs = openSavedLogs(dir);
  const warnings = logs.problems.length > 0 ? logs.problems.map((p) => `warning: ${p}\n`).join("") : "";
  if (file === "diag") return diagText(name, logs) + warnings;
  if (file !== undefined) {
    const content = logs.read(fileNames[file]);
    if (content === null) throw new Error(`logs: ${name} has no ${fileNames[file]} saved (saved: ${logs.files.join(", ") || "nothing"})${warnings ? `; ${logs.problems.join("; ")}` : ""}`);
    return withNewline(content.toString("utf8"));
  }
  const parts = record ? [renderRunnerRecord(record)] : [`runner ${name} (no record in the store)\n`];
  const result = logs.read("result.json");
  parts.push(section("result.json", result === null ? "(not saved: the runner stopped before its agent wrote one; it ended early, or its disk was full)\n" : resultSummary(result)));
  for (const log of ["agent.log", "runner.log"]) {
    const content = logs.read(log);
    parts.push(section(log, content === null ? "(not saved)\n" : withNewline(content.toString("utf8"))));
  }
  const diag = logs.files.filter((f) => f.startsWith("diag/"));
  if (diag.length > 0) parts.push(`\n${diag.length} diag file(s): ${diag.map((f) => f.slice("diag/".length)).join(", ")} (runnerd logs ${name} --file diag)\n`);
  return parts.join("") + warnings;
}

function unknownRunner(logsDir: string, name: string, record: RunnerRecord | null): string {
  if (record) {
    const why = record.finishedAt === null ? "it has not finished yet" : "they were pruned or could not be collected";
    return `logs: no logs saved for ${name} (pool ${record.pool}, outcome ${record.outcome ?? "none yet"}): ${why}`;
  }
  const newest = listRunnerLogDirs(logsDir).slice(0, 5).map((d) => d.name);
  return newest.length === 0
    ? `logs: no runner named ${name}, and no runner logs saved yet in ${logsDir}`
    : `logs: no runner named ${name}; newest runners with logs: ${newest.join(", ")}`;
}

function diagText(name: string, logs: SavedLogs): string {
  const diag = logs.files.filter((f) => f.startsWith("diag/"));
  if (diag.length === 0) throw new Error(`logs: ${name} has no diag files saved (the runner never started, or its agent did not bundle them)`);
  return diag.map((f) => section(f, withNewline(logs.read(f)?.toString("utf8") ?? "(could not be read)"))).join("");
}

export function renderRunnerRecord(r: RunnerRecord): string {
  const since = (at: Date | null) => (at === null ? null : `+${humanDuration(at.getTime() - r.createdAt.getTime())}`);
  const steps = [`created ${r.createdAt.toISOString()}`];
  const listening = since(r.listeningAt);
  if (listening) steps.push(`listening ${listening}`);
  const busy = since(r.busyAt);
  if (busy) steps.push(`busy ${busy}${r.jobName ? ` (job ${r.jobName})` : ""}`);
  const finished = since(r.finishedAt);
  if (finished) steps.push(`finished ${finished}`);
  const outcome = r.outcome === null ? "no outcome yet" : `outcome ${r.outcome}${r.exitCode === null ? "" : ` (exit ${r.exitCode})`}`;
  const lines = [`runner ${r.name}: pool ${r.pool}, ${r.scope}, image ${r.image}`, `  ${steps.join(", ")}; ${outcome}`];
  if (r.detail) lines.push(`  detail: ${r.detail}`);
  return lines.join("\n") + "\n";
}

/** result.json in a few lines; as it is when it is not what the agent writes. */
export function resultSummary(raw: Buffer): string {
  const { result: r, outcome } = readAgentResult(raw);
  if (r === null) return withNewline(raw.toString("utf8"));
  const after = (s: number | null) => (s === null ? null : `+${humanDuration((s - r.started_at) * 1000)}`);
  const job = r.job_seen ? `job "${r.job_name}"${r.job_result ? ` (${r.job_result})` : ""}` : "no job";
  const timeline = [`started ${new Date(r.started_at * 1000).toISOString()}`];
  for (const [label, at] of [["configured", r.configured_at], ["listening", r.listening_at], ["job started", r.job_started_at], ["finished", r.finished_at]] as const) {
    const text = after(at);
    if (text) timeline.push(`${label} ${text}`);
  }
  const lines = [`outcome ${outcome}${r.end ? ` (${r.end})` : ""}, exit code ${r.exit_code ?? "none"}, ${job}`, timeline.join(", ")];
  const listener = listenerSummary(r);
  if (listener) lines.push(listener);
  if (r.error) lines.push(`error: ${r.error}`);
  return lines.join("\n") + "\n";
}

/** The listener's version and restarts, from agents that supervise it; "" from older ones. */
function listenerSummary(r: AgentResult): string {
  const counts = ([["self-update", "self-updates", r.updates], ["retry", "retries", r.retries], ["configuration refresh", "configuration refreshes", r.refreshes]] as const)
    .filter(([, , n]) => n !== undefined && n > 0).map(([one, many, n]) => `${n} ${n === 1 ? one : many}`);
  if (counts.length === 0 && !r.runner_version) return "";
  return `listener ${r.runner_version ? `v${r.runner_version}` : "of unknown version"}${counts.length > 0 ? `, ${counts.join(", ")}` : ""}`;
}

function section(title: string, body: string): string {
  return `\n== ${title} ==\n${body}`;
}

function withNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}
