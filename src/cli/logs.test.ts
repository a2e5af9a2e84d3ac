import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import type { RunnerRecord } from "../store/index.js";
import { resultSummary, runnerLogsText } from "./logs.js";

const result = {
  exit_code: 0,
  outcome: "succeeded",
  job_seen: true,
  job_name: "build",
  job_result: "Succeeded",
  error: "",
  started_at: 1735732800,
  configured_at: 1735732803,
  listening_at: 1735732805,
  job_started_at: 1735732830,
  finished_at: 1735732900,
};

const record: RunnerRecord = {
  name: "rd-web-1",
  pool: "web",
  scope: "repo:acme/web",
  image: "runnerd/default",
  createdAt: new Date("2025-01-01T12:00:00Z"),
  listeningAt: new Date("2025-01-01T12:00:05Z"),
  busyAt: new Date("2025-01-01T12:00:30Z"),
  jobName: "build",
  stoppedAt: new Date("2025-01-01T12:01:40Z"),
  finishedAt: new Date("2025-01-01T12:01:40Z"),
  exitCode: 0,
  jobSeen: true,
  outcome: "succeeded",
  detail: null,
  deletedAt: new Date("2025-01-01T12:01:41Z"),
};

/** A logs dir holding rd-web-1 as collect saves it: result.json and the agent's archive. */
function savedLogs(): string {
  const logs = join(mkdtempSync(join(tmpdir(), "runnerd-cli-logs-")), "logs");
  const work = join(logs, "..", "var");
  mkdirSync(join(work, "diag"), { recursive: true });
  writeFileSync(join(work, "agent.log"), "agent: starting runner\nagent: finished\n");
  writeFileSync(join(work, "runner.log"), "√ Connected to GitHub\nRunning job: build");
  writeFileSync(join(work, "diag", "Runner_20250101.log"), "[RUNNER] hello\n");
  writeFileSync(join(work, "diag", "Worker_20250101.log"), "[WORKER] step 1\n");
  const dir = join(logs, "rd-web-1");
  mkdirSync(dir, { recursive: true });
  // As runner-agent.sh bundles them.
  execFileSync("tar", ["-czf", join(dir, "logs.tar.gz"), "-C", work, "agent.log", "runner.log", "diag"]);
  writeFileSync(join(dir, "result.json"), JSON.stringify(result));
  return logs;
}

describe("runnerd logs", () => {
  it("prints the record, a result summary, agent.log and runner.log from the archive, and names the diag files", () => {
    const text = runnerLogsText(savedLogs(), "rd-web-1", record);
    expect(text).toBe(
      [
        "runner rd-web-1: pool web, repo:acme/web, image runnerd/default",
        "  created 2025-01-01T12:00:00.000Z, listening +5s, busy +30s (job build), finished +100s; outcome succeeded (exit 0)",
        "",
        "== result.json ==",
        'outcome succeeded, exit code 0, job "build" (Succeeded)',
        "started 2025-01-01T12:00:00.000Z, configured +3s, listening +5s, job started +30s, finished +100s",
        "",
        "== agent.log ==",
        "agent: starting runner",
        "agent: finished",
        "",
        "== runner.log ==",
        "√ Connected to GitHub",
        "Running job: build",
        "",
        "2 diag file(s): Runner_20250101.log, Worker_20250101.log (runnerd logs rd-web-1 --file diag)",
        "",
      ].join("\n"),
    );
  });

  it("prints one file with --file", () => {
    const logs = savedLogs();
    expect(runnerLogsText(logs, "rd-web-1", null, "agent")).toBe("agent: starting runner\nagent: finished\n");
    expect(runnerLogsText(logs, "rd-web-1", null, "runner")).toBe("√ Connected to GitHub\nRunning job: build\n");
    expect(JSON.parse(runnerLogsText(logs, "rd-web-1", null, "result"))).toEqual(result);
    expect(runnerLogsText(logs, "rd-web-1", null, "diag")).toBe("\n== diag/Runner_20250101.log ==\n[RUNNER] hello\n\n== diag/Worker_20250101.log ==\n[WORKER] step 1\n");
  });

  it("reads loose logs when the agent never bundled them, and says what is missing", () => {
    const logs = join(mkdtempSync(join(tmpdir(), "runnerd-cli-logs-")), "logs");
    mkdirSync(join(logs, "rd-web-2"), { recursive: true });
    writeFileSync(join(logs, "rd-web-2", "agent.log"), "agent: config.sh failed");
    const text = runnerLogsText(logs, "rd-web-2", null);
    expect(text).toContain("runner rd-web-2 (no record in the store)\n");
    expect(text).toContain("== result.json ==\n(not saved: the runner stopped before its agent wrote one; it ended early, or its disk was full)\n");
    expect(text).toContain("== agent.log ==\nagent: config.sh failed\n");
    expect(text).toContain("== runner.log ==\n(not saved)\n");
    expect(() => runnerLogsText(logs, "rd-web-2", null, "diag")).toThrow("rd-web-2 has no diag files saved");
    expect(() => runnerLogsText(logs, "rd-web-2", null, "result")).toThrow("rd-web-2 has no result.json saved (saved: agent.log)");
  });

  it("warns about a damaged archive and still shows the rest", () => {
    const logs = savedLogs();
    writeFileSync(join(logs, "rd-web-1", "logs.tar.gz"), "not gzip");
    const text = runnerLogsText(logs, "rd-web-1", null);
    expect(text).toContain('outcome succeeded, exit code 0, job "build"');
    expect(text).toContain("== agent.log ==\n(not saved)\n");
    expect(text).toMatch(/warning: logs\.tar\.gz could not be read: .+/);
  });

  it("refuses an unknown runner with exit 2, naming the five newest runners with logs", () => {
    const logs = join(mkdtempSync(join(tmpdir(), "runnerd-cli-logs-")), "logs");
    expect(() => runnerLogsText(logs, "rd-x", null)).toThrow(`logs: no runner named rd-x, and no runner logs saved yet in ${logs}`);
    for (let i = 1; i <= 7; i++) {
      mkdirSync(join(logs, `rd-web-${i}`), { recursive: true });
      utimesSync(join(logs, `rd-web-${i}`), 1_700_000_000 + i, 1_700_000_000 + i);
    }
    const refuse = (name: string) => () => runnerLogsText(logs, name, null);
    expect(refuse("rd-x")).toThrow(UsageError);
    expect(refuse("rd-x")).toThrow("logs: no runner named rd-x; newest runners with logs: rd-web-7, rd-web-6, rd-web-5, rd-web-4, rd-web-3");
    expect(refuse("../logs")).toThrow("no runner named ../logs");
    rmSync(join(logs, "rd-web-1"), { recursive: true });
    expect(() => runnerLogsText(logs, "rd-web-1", record)).toThrow("logs: no logs saved for rd-web-1 (pool web, outcome succeeded): they were pruned or could not be collected");
  });
});

describe("resultSummary", () => {
  const result = {
    exit_code: 0, outcome: "succeeded", job_seen: true, job_name: "build", job_result: "Succeeded", error: "",
    started_at: 1_735_732_800, configured_at: 1_735_732_801, listening_at: 1_735_732_802, job_started_at: 1_735_732_810, finished_at: 1_735_732_820,
  };

  it("names how the runner ended, its listener's version and restarts", () => {
    const text = resultSummary(Buffer.from(JSON.stringify({ ...result, end: "job-done", updates: 1, retries: 2, refreshes: 0, runner_version: "2.331.0" })));
    expect(text.split("\n").slice(0, 3)).toEqual([
      'outcome succeeded (job-done), exit code 0, job "build" (Succeeded)',
      "started 2025-01-01T12:00:00.000Z, configured +1s, listening +2s, job started +10s, finished +20s",
      "listener v2.331.0, 1 self-update, 2 retries",
    ]);
  });

  it("shows runnerd's reading of it: a deprecated runner, an end it does not know", () => {
    const deprecated = resultSummary(Buffer.from(JSON.stringify({ ...result, exit_code: 7, outcome: "runner-deprecated", end: "deprecated", job_seen: false, runner_version: "2.330.0", error: "Runner version v2.330.0 is deprecated and cannot receive messages. (exit 7)" })));
    expect(deprecated).toContain("outcome runner-deprecated (deprecated), exit code 7, no job\n");
    expect(deprecated).toContain("listener v2.330.0\nerror: Runner version v2.330.0 is deprecated");
    expect(resultSummary(Buffer.from(JSON.stringify({ ...result, end: "exploded" })))).toMatch(/^outcome failed, exit code 0/);
  });
});
