// runnerd's agent with the fake runner against the emulator, without LXD: the agent supervises the
// real fake listener through a self-update, a deprecated version, a session conflict and a
// retryable error, and runnerd reads what it wrote into the outcome it records.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agentScriptPath } from "../agent/index.js";
import { readAgentResult } from "../pools/runner-record.js";
import { installFakeRunner } from "./fake-runner/index.js";
import { startGitHubEmulator } from "./index.js";
import type { GitHubEmulator } from "./index.js";

const NOBODY = { uid: 65534, gid: 65534 };
const canRun = process.getuid?.() === 0 && existsSync("/usr/sbin/runuser");

let emu: GitHubEmulator;
let dir: string;

beforeEach(async () => {
  emu = await startGitHubEmulator({ longPollMs: 2000 });
  dir = await mkdtemp(join(tmpdir(), "agent-supervision-"));
  await chmod(dir, 0o755);
  await installFakeRunner(join(dir, "runner"), NOBODY);
});
afterEach(async () => {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

/** Starts the agent for a JIT runner `name`; resolves with its result.json once it finished. */
async function runAgent(name: string): Promise<{ raw: Buffer; result: Record<string, unknown> }> {
  const { encoded_jit_config } = emu.mintJitConfig({ repo: "octo/app" }, { name, labels: ["self-hosted"] });
  await writeFile(join(dir, "runner.json"), `{\n  "url": "${emu.url}/octo/app",\n  "name": "${name}",\n  "jitconfig": "${encoded_jit_config}"\n}\n`, { mode: 0o600 });
  const child = spawn("/bin/sh", [agentScriptPath()], {
    env: {
      RUNNERD_CONF: join(dir, "runner.json"), RUNNERD_VAR: join(dir, "var"), RUNNERD_RUNNER_DIR: join(dir, "runner"), RUNNERD_RUNNER_USER: "nobody",
      RUNNERD_POWEROFF: "0", RUNNERD_RETRY_PAUSE: "1", TMPDIR: "/tmp",
    },
    stdio: "ignore",
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  expect(code).toBe(0);
  const raw = await readFile(join(dir, "var", "result.json"));
  return { raw, result: JSON.parse(raw.toString("utf8")) as Record<string, unknown> };
}

describe.runIf(canRun)("the agent with the fake runner", () => {
  it("lets a JIT runner update itself and then run the job GitHub held for it: succeeded", async () => {
    await emu.publishRunnerRelease("2.331.0");
    emu.offerRunnerUpdate("2.331.0");
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted"], name: "after-update", script: "echo \"runner-version=$(cat \"$RUNNER_TEMP/../../VERSION\")\"" });
    const { raw, result } = await runAgent("upd");
    expect(result).toMatchObject({ end: "job-done", outcome: "succeeded", exit_code: 0, updates: 1, retries: 0, runner_version: "2.331.0", job_name: "after-update" });
    expect(emu.job(job.id)).toMatchObject({ conclusion: "success", runnerName: "upd", requeues: 0 });
    expect(emu.job(job.id)?.log).toContain("runner-version=2.331.0");
    expect(emu.runnerHistory()[0]).toMatchObject({ version: "2.331.0", sessions: 2 });
    expect(readAgentResult(raw)).toMatchObject({ outcome: "succeeded", result: { updates: 1, end: "job-done" } });
  }, 40_000);

  it("records a deprecated runner: exit 7 from 2.333.0 on, the message on exit 1 before", async () => {
    emu.setMinimumRunnerVersion("2.334.0");
    const old = await runAgent("old");
    expect(old.result).toMatchObject({ end: "deprecated", outcome: "runner-deprecated", exit_code: 1, error: "Runner version v2.330.0 is deprecated and cannot receive messages. (exit 1)" });
    expect(readAgentResult(old.raw)).toMatchObject({ outcome: "runner-deprecated", detail: expect.stringContaining("v2.330.0") as string });

    await rm(join(dir, "var"), { recursive: true });
    await writeFile(join(dir, "runner", "VERSION"), "2.333.0\n");
    const newer = await runAgent("newer");
    expect(newer.result).toMatchObject({ end: "deprecated", outcome: "runner-deprecated", exit_code: 7, runner_version: "2.333.0" });
  }, 30_000);

  it("ends at a session conflict, and rides out a retryable error", async () => {
    emu.armRunnerFault({ kind: "session-conflict", namePrefix: "held", retryIntervalSeconds: 1, retryLimitSeconds: 1 });
    const held = await runAgent("held");
    expect(held.result).toMatchObject({ end: "session-conflict", outcome: "failed", exit_code: 5, listening_at: null });
    expect(readAgentResult(held.raw).outcome).toBe("failed");

    await rm(join(dir, "var"), { recursive: true });
    emu.armRunnerFault({ kind: "retryable-error" });
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted"], script: "true" });
    const retried = await runAgent("retried");
    expect(retried.result).toMatchObject({ end: "job-done", outcome: "succeeded", retries: 1, updates: 0 });
    expect(emu.job(job.id)?.runnerName).toBe("retried");
  }, 30_000);
});
