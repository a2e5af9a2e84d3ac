// The fake runner's listener against the emulator, one row of actions/runner's exit-code table at
// a time (github-runner-facts.md §3 and §6): self-updates (3/4, update.finished, the new layout),
// a deprecated version (1 or 7), a retryable error (2), a session conflict (5), a job gone at its
// acknowledge and a revoked token (0), a configuration refresh (restarted in-process; 6 only on
// request), and run.sh/run-helper.sh's mapping of each. The other rows (a job done, the
// registration deleted while listening or before a session, a bad configuration) are in
// fake-runner.test.ts.
import { existsSync, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubEmulator } from "../index.js";
import type { GitHubEmulator } from "../index.js";
import { installFakeRunner } from "./index.js";
import { runFakeRunnerScript as startScript } from "./test-support.js";
import type { FakeRunnerScript, RunScriptOptions, RunningScript } from "./test-support.js";

const canDrop = process.getuid?.() === 0 && existsSync("/usr/bin/setpriv");
const NOBODY = { uid: 65534, gid: 65534 };

let emu: GitHubEmulator;
let root: string;
let tmp: string;
const started: RunningScript[] = [];

function start(script: FakeRunnerScript, args: string[], env: Record<string, string> = {}): RunningScript {
  const base: RunScriptOptions = canDrop ? { user: NOBODY } : { env: { RUNNER_ALLOW_RUNASROOT: "1" } };
  const run = startScript(root, script, args, { ...base, env: { ...base.env, TMPDIR: tmp, ...env } });
  started.push(run);
  return run;
}

function jit(name: string): string {
  return emu.mintJitConfig({ repo: "octo/app" }, { name, labels: ["self-hosted"] }).encoded_jit_config;
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeEach(async () => {
  emu = await startGitHubEmulator({ longPollMs: 2000 });
  tmp = await mkdtemp(join(tmpdir(), "fake-runner-tmp-"));
  root = await mkdtemp(join(tmpdir(), "fake-runner-root-"));
  await installFakeRunner(root, canDrop ? NOBODY : undefined);
  if (canDrop) {
    await chmod(tmp, 0o1777);
    await chmod(root, 0o755);
  }
});

afterEach(async () => {
  for (const script of started.splice(0)) script.kill("SIGKILL");
  await emu.close();
  await rm(root, { recursive: true, force: true });
  await rm(tmp, { recursive: true, force: true });
});

describe("self-update", () => {
  it("a JIT runner offered a newer release downloads it, exits 4, and the update script swaps the layout", async () => {
    await emu.publishRunnerRelease("2.331.0");
    emu.offerRunnerUpdate("2.331.0");
    const config = jit("upd-1");
    const first = await start("bin/Runner.Listener", ["run", "--jitconfig", config]).exited;
    expect(first.code).toBe(4);
    expect(first.output).toMatch(/Listening for Jobs[\s\S]*Runner update in progress, do not shutdown runner\.\nDownloading 2\.331\.0 runner\n/);
    expect(first.output).toContain("Runner will exit shortly for update, should be back online within 10 seconds.");
    // The script waits for the listener to be gone, then swaps bin and touches update.finished.
    await waitForFile(join(root, "update.finished"), 15_000);
    expect(lstatSync(join(root, "bin")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, "bin"))).toBe(join(root, "bin.2.331.0"));
    expect(existsSync(join(root, "bin.2.330.0", "Runner.Listener"))).toBe(true);
    expect(await readFile(join(root, "VERSION"), "utf8")).toBe("2.331.0\n");
    expect(readdirSync(join(root, "_diag")).filter((f) => f.startsWith("SelfUpdate-"))).toEqual([expect.stringMatching(/\.log\.succeed$/)]);
    expect(existsSync(join(root, "_work", "_update.sh"))).toBe(true);
    expect(emu.runnerReleases()[0]?.downloads).toEqual({ "actions-runner-linux-x64-2.331.0.tar.gz": 1 });

    // The updated listener gets the job GitHub held for the runner, and is not offered the update again.
    const second = start("bin/Runner.Listener", ["run", "--jitconfig", config]);
    await second.waitForOutput(/Current runner version: '2\.331\.0'[\s\S]*Listening for Jobs/, 10_000);
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "echo updated" });
    expect((await second.exited).code).toBe(0);
    expect(emu.job(job.id)).toMatchObject({ conclusion: "success", runnerName: "upd-1" });
    expect(emu.runnerHistory()[0]).toMatchObject({ version: "2.331.0", sessions: 2 });
    expect(emu.violations).toEqual([]);
  }, 40_000);

  it("exits 3 when not ephemeral; never offered to a runner configured with --disableupdate", async () => {
    await emu.publishRunnerRelease("2.331.0");
    emu.offerRunnerUpdate("2.331.0");
    const { token } = emu.mintRegistrationToken({ repo: "octo/app" });
    const url = `${emu.url}/octo/app`;
    expect((await start("config.sh", ["--url", url, "--token", token, "--name", "keeps", "--unattended"]).exited).code).toBe(0);
    expect((await start("bin/Runner.Listener", ["run"]).exited).code).toBe(3);
    await waitForFile(join(root, "update.finished"), 15_000);

    await rm(root, { recursive: true, force: true });
    root = await mkdtemp(join(tmpdir(), "fake-runner-root-"));
    await installFakeRunner(root, canDrop ? NOBODY : undefined);
    if (canDrop) await chmod(root, 0o755);
    expect((await start("config.sh", ["--url", url, "--token", token, "--name", "pinned", "--unattended", "--ephemeral", "--disableupdate"]).exited).code).toBe(0);
    const pinned = start("bin/Runner.Listener", ["run"]);
    await pinned.waitForOutput(/Listening for Jobs/, 10_000);
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "true" });
    const exit = await pinned.exited;
    expect(exit.code).toBe(0);
    expect(exit.output).not.toContain("Runner update");
    expect(emu.job(job.id)?.runnerName).toBe("pinned");
  }, 40_000);

  it("run.sh waits for update.finished and starts the updated listener, which runs the job", async () => {
    await emu.publishRunnerRelease("2.331.0");
    emu.offerRunnerUpdate("2.331.0");
    const run = start("run.sh", ["--jitconfig", jit("via-run-sh")]);
    await run.waitForOutput(/Current runner version: '2\.331\.0'[\s\S]*Listening for Jobs/, 20_000);
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "echo ok" });
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(exit.output).toContain("Runner listener exit because of updating, re-launch runner after successful update\nUpdate finished successfully.\nRestarting runner...");
    expect(existsSync(join(root, "update.finished"))).toBe(false);
    expect(emu.job(job.id)?.conclusion).toBe("success");
  }, 40_000);

  it("goes on listening when the download fails", async () => {
    await emu.publishRunnerRelease("2.331.0");
    emu.offerRunnerUpdate("2.331.0");
    emu.failNext({ path: "/_downloads/", status: 404, times: 3 });
    const run = start("bin/Runner.Listener", ["run", "--jitconfig", jit("no-download")]);
    await run.waitForOutput(/Runner update failed: Runner package '.*' failed after 3 download attempts\nRunner update process finished\./, 15_000);
    expect(run.output()).not.toContain("Runner will exit shortly");
    expect(lstatSync(join(root, "bin")).isDirectory()).toBe(true);
  }, 30_000);
});

describe("refusals and faults", () => {
  it("a deprecated 2.330.0 says 'occured' and exits 1 even with the variable set; 2.333.0 and later exit 7 with it", async () => {
    emu.setMinimumRunnerVersion("2.334.0");
    const env = { ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE: "1" };
    const old = await start("bin/Runner.Listener", ["run", "--jitconfig", jit("old")], env).exited;
    expect(old.code).toBe(1);
    expect(old.output).toMatch(/Listening for Jobs\n[\s\S]*An error occured: Runner version v2\.330\.0 is deprecated and cannot receive messages\.\n/);

    await writeFile(join(root, "VERSION"), "2.333.0\n");
    const newer = await start("bin/Runner.Listener", ["run", "--jitconfig", jit("newer")], env).exited;
    expect(newer.code).toBe(7);
    expect(newer.output).toContain("An error occurred: Runner version v2.333.0 is deprecated and cannot receive messages.");
    expect((await start("bin/Runner.Listener", ["run", "--jitconfig", jit("no-var")]).exited).code).toBe(1);
    const wrapped = await start("run.sh", ["--jitconfig", jit("wrapped")], env).exited;
    expect(wrapped.code).toBe(7);
    expect(wrapped.output).toContain("Runner listener exit with deprecated version exit code: 7.");
    // The session was given back each time, so the registration is free for another listener.
    expect(emu.runners().map((r) => r.session)).toEqual([null, null, null, null]);
  }, 30_000);

  it("a message it cannot read is exit 2; run.sh pauses 5 s and starts it again", async () => {
    emu.armRunnerFault({ kind: "retryable-error", namePrefix: "retry-a" });
    const direct = await start("bin/Runner.Listener", ["run", "--jitconfig", jit("retry-a")]).exited;
    expect(direct.code).toBe(2);
    expect(direct.output).toMatch(/Listening for Jobs\n[\s\S]*An error occurred: /);

    emu.armRunnerFault({ kind: "retryable-error" });
    const run = start("run.sh", ["--jitconfig", jit("retry-b")]);
    await run.waitForOutput(/re-launch runner in 5 seconds\.\nRestarting runner\.\.\.\n[\s\S]*Listening for Jobs/, 15_000);
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "true" });
    expect((await run.exited).code).toBe(0);
    expect(emu.job(job.id)?.runnerName).toBe("retry-b");
  }, 40_000);

  it("a session conflict is 5, which run.sh ends with 0", async () => {
    emu.armRunnerFault({ kind: "session-conflict", retryIntervalSeconds: 0, retryLimitSeconds: 0 });
    const direct = await start("bin/Runner.Listener", ["run", "--jitconfig", jit("conflict")]).exited;
    expect(direct.code).toBe(5);
    emu.armRunnerFault({ kind: "session-conflict", retryIntervalSeconds: 0, retryLimitSeconds: 0 });
    const wrapped = await start("run.sh", ["--jitconfig", jit("conflict-2")]).exited;
    expect(wrapped.code).toBe(0);
    expect(wrapped.output).toContain("Runner listener exit with Session Conflict error, stop the service, no retry needed.");
  }, 20_000);

  it("a job gone when it is acknowledged ends an ephemeral runner with 0; a revoked OAuth token too", async () => {
    emu.armRunnerFault({ kind: "job-gone" });
    const run = start("bin/Runner.Listener", ["run", "--jitconfig", jit("late")]);
    await run.waitForOutput(/Listening for Jobs/, 10_000);
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "true" });
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(exit.output).not.toContain("Running job");
    expect(existsSync(join(root, ".runner"))).toBe(false);
    // GitHub took the job back: it waits for the next runner.
    expect(emu.job(job.id)).toMatchObject({ status: "queued", runnerId: null, requeues: 1 });

    emu.armRunnerFault({ kind: "token-revoked" });
    const revoked = await start("bin/Runner.Listener", ["run", "--jitconfig", jit("revoked")]).exited;
    expect(revoked.code).toBe(0);
    expect(revoked.output).toContain("Listening for Jobs");
    expect(emu.job(job.id)?.status).toBe("queued");
  }, 30_000);

  it("a configuration refresh restarts the session in the same process; 6 only when asked to exit", async () => {
    const run = start("bin/Runner.Listener", ["run", "--jitconfig", jit("refresh")]);
    await run.waitForOutput(/Listening for Jobs/, 10_000);
    emu.armRunnerFault({ kind: "config-refresh" });
    await run.waitForOutput(/Listening for Jobs[\s\S]*Listening for Jobs/, 10_000);
    expect(emu.runners()[0]?.sessions).toBe(2);
    emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "true" });
    expect((await run.exited).code).toBe(0);

    emu.armRunnerFault({ kind: "config-refresh" });
    const exits = await start("bin/Runner.Listener", ["run", "--jitconfig", jit("refresh-exit")], { FAKE_RUNNER_CONFIG_REFRESH_EXIT: "1" }).exited;
    expect(exits.code).toBe(6);
  }, 30_000);
});
