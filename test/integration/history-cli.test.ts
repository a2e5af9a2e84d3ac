// `runnerd jobs` and `runnerd logs` run as the built `bin/runnerd` against a temporary state
// dir (no LXD, no daemon): they read the store and the saved logs directly, and bad input or an
// unknown runner exits 2.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { JobEvent } from "../../src/store/job-types.js";
import { openStore } from "../../src/store/index.js";
import { ensureBuilt, runCli } from "../support/lxd-harness.js";

describe("history CLI: jobs and logs", () => {
  let dir = "";
  let configPath = "";

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), "runnerd-history-cli-"));
    const stateDir = join(dir, "state");
    configPath = join(dir, "config.yaml");
    writeFileSync(configPath, stringify({ state_dir: stateDir, github: { main: { auth: { type: "push" } } }, pools: [{ name: "web", scope: { repo: "acme/web" }, image: "x" }] }), { mode: 0o600 });
    const store = openStore(stateDir);
    const now = Date.now();
    const event = (jobId: number, action: JobEvent["action"], minutesAgo: number): JobEvent => ({
      action, deliveryId: `d${jobId}${action}`, connection: "main", jobId, runId: 7, runAttempt: 1, repository: "acme/web",
      workflowName: "CI", jobName: `job${jobId}`, labels: ["self-hosted"], runnerName: action === "queued" ? null : "rd-web-1",
      runnerGroupName: null, conclusion: action === "completed" ? "success" : null, createdAt: now - minutesAgo * 60_000,
      startedAt: action === "queued" ? null : now - minutesAgo * 60_000 + 5000, completedAt: action === "completed" ? now - 60_000 : null, receivedAt: now,
    });
    store.recordJobEvent(event(1, "completed", 300), "web");
    store.recordJobEvent(event(2, "completed", 10), "web");
    store.recordJobEvent(event(3, "queued", 1), "web");
    store.close();
    const runnerDir = join(stateDir, "logs", "rd-web-1");
    mkdirSync(runnerDir, { recursive: true });
    writeFileSync(join(runnerDir, "agent.log"), "agent: hello\n");
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli(["--config", configPath, ...args]);

  it("lists jobs as a table and as JSON, with filters", async () => {
    const listed = await cli(["jobs"]);
    expect(listed.stderr).toBe("");
    expect(listed.code).toBe(0);
    expect(listed.stdout.split("\n")[0]).toMatch(/^JOB\s+REPOSITORY\s+WORKFLOW \/ JOB\s+POOL\s+RUNNER\s+STATUS\s+QUEUED\s+WAIT\s+DURATION$/);
    expect(listed.stdout).toMatch(/^3\s+acme\/web\s+CI \/ job3\s+web\s+-\s+queued\s/m);
    const json = await cli(["jobs", "--json", "--since", "2h", "--status", "success"]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { job_id: number; wait_ms: number }[]).map((j) => [j.job_id, j.wait_ms])).toEqual([[2, 5000]]);
    const bad = await cli(["jobs", "--since", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('runnerd: jobs: --since must be a duration such as 30m, 2h or 7d, not "soon"');
  });

  it("prints a runner's saved logs and refuses an unknown runner with exit 2", async () => {
    const shown = await cli(["logs", "rd-web-1", "--file", "agent"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe("agent: hello\n");
    const unknown = await cli(["logs", "rd-web-9"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("runnerd: logs: no runner named rd-web-9; newest runners with logs: rd-web-1");
    const badFile = await cli(["logs", "rd-web-1", "--file", "x"]);
    expect(badFile.code).toBe(2);
  });
});
