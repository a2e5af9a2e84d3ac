// Issue 12, item 2: while a job runs, root in the runner instance (which any job has, through
// sudo) reads the command line, environment and memory of every process there. It must find the
// scope's registration token nowhere (push mode): only a short-lived process that configured the
// runner ever held it. A JIT config carries only the runner's own credential files; it may be in
// the listener, which actions/runner hands it to, and nowhere else: not in the agent, which lives
// as long as the instance, nor in the job. runner.json is gone before the job.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { backendCli } from "../../src/cli/demo/lxd-host.js";
import { scopeKey } from "../../src/config/index.js";
import { openStore } from "../../src/store/index.js";
import { useDaemonWorld } from "../support/daemon-world.js";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";
import { scanProcesses, whereFound, type ScannedProcess } from "../support/memory-scan.js";

const lxd = await lxdOrSkip();
const run = promisify(execFile);

describe.skipIf(lxd.skip)("secrets out of every process a job can read (real LXD)", () => {
  const t = useDaemonWorld();

  async function inInstance(instance: string, script: string, input?: string): Promise<string> {
    const child = run(backendCli(), ["exec", instance, "--", "sh", "-c", script]);
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  }

  /** Starts a job that sleeps, and waits until it runs; returns its id and the runner's instance. */
  async function jobRunning(repo: string): Promise<{ id: number; instance: string }> {
    const job = t.world.emulator.enqueueJob({ scope: { repo }, labels: ["self-hosted"], name: "sleeper", script: "echo started; sleep 45" });
    const running = await waitFor("the job running", () => {
      const j = t.world.emulator.job(job.id);
      return j?.startedAt && j.runnerName ? j : undefined;
    }, 120_000);
    const instance = running.runnerName ?? "";
    await waitFor("the job's script running", async () => (await inInstance(instance, "ps")).includes("sleep 45") || undefined, 30_000);
    return { id: job.id, instance };
  }

  const holders = (procs: ScannedProcess[], secret: string) =>
    procs.map((p) => ({ pid: p.pid, cmdline: p.cmdline, where: whereFound(p, secret) })).filter((p) => p.where.length > 0);

  it("push mode: the registration token is in no process during a job", async () => {
    const repo = "acme/secret-push";
    t.world.writeConfig([{ name: "sec", repo, floor: 1 }]);
    const grant = t.world.emulator.mintRegistrationToken({ repo });
    const store = openStore(t.world.stateDir);
    store.setToken(scopeKey({ type: "repo", repo }), grant.token, new Date(grant.expires_at), "test");
    store.close();
    await t.startDaemon();
    await waitFor("a runner listening", () => t.world.emulator.runners().some((r) => r.listeningAt !== null) || undefined, 120_000);

    const job = await jobRunning(repo);
    // The control: a shell holding the token in a variable (in its heap only, as the agent once did).
    const decoy = run(backendCli(), ["exec", job.instance, "--", "sh", "-c", "read -r v; : >/tmp/decoy-has-read; while :; do sleep 1; done"]);
    decoy.child.stdin?.end(`${grant.token}\n`);
    decoy.catch(() => undefined);
    // Wait until it has read the token, not only until it runs: the exec's stdin can reach it
    // later than its process shows in ps (on Incus, a CI run scanned before it had).
    await waitFor("the decoy holding the token", async () => (await inInstance(job.instance, "ls /tmp")).includes("decoy-has-read") || undefined, 20_000);

    const procs = await scanProcesses(job.instance);
    expect(procs.some((p) => p.cmdline.includes("runner-agent.sh"))).toBe(true);
    expect(procs.some((p) => p.cmdline.includes("Runner.Listener run"))).toBe(true);
    const found = holders(procs, grant.token);
    // The scan does see a token in a shell's heap: the decoy's, and nowhere else.
    expect(found.length).toBeGreaterThan(0);
    for (const p of found) expect(p).toMatchObject({ cmdline: expect.stringContaining("read -r v"), where: ["mem"] });
    decoy.child.kill();

    expect(await inInstance(job.instance, "ls /opt/runnerd")).toBe("runner-agent.sh\n");
    const [done] = await t.world.emulator.waitForJobs([job.id], 120_000);
    expect(done?.conclusion).toBe("success");
  });

  it("JIT mode: the JIT config is in the listener alone, never in the agent or the job", async () => {
    await t.stopDaemon();
    await t.world.removeInstances();
    const repo = "acme/secret-jit";
    const patFile = join(t.world.stateDir, "github-pat");
    writeFileSync(patFile, `${t.world.emulator.pat}\n`, { mode: 0o600 });
    t.world.writeConfig([{ name: "jit", repo, floor: 1 }], { github: { emu: { url: t.world.emulator.url, auth: { type: "pat", token_file: patFile } } } });
    await t.startDaemon({ sweepDelayMs: 3_600_000 });
    await waitFor("a JIT runner listening", () => t.world.emulator.runners().some((r) => r.listeningAt !== null && r.jit) || undefined, 120_000);

    const job = await jobRunning(repo);
    // The JIT config, rebuilt from the files the listener wrote from it (emulator/jit-config.ts
    // encodes them in this order); that the listener is found holding it proves the rebuild.
    const file = async (name: string) => (await inInstance(job.instance, `base64 /opt/actions-runner/${name} | tr -d '\\n'`)).trim();
    const files = { ".runner": await file(".runner"), ".credentials": await file(".credentials"), ".credentials_rsaparams": await file(".credentials_rsaparams") };
    const jitconfig = Buffer.from(JSON.stringify(files)).toString("base64");

    const procs = await scanProcesses(job.instance);
    const found = holders(procs, jitconfig);
    const listeners = procs.filter((p) => /Runner\.Listener run$/.test(p.cmdline));
    expect(listeners.length).toBeGreaterThan(0);
    // Only the listener (and any fork of it that has not run another program yet: same command
    // line) holds it: it was started with it in ACTIONS_RUNNER_INPUT_JITCONFIG.
    expect(found.length).toBeGreaterThan(0);
    for (const p of found) expect(p.cmdline).toMatch(/Runner\.Listener run$/);
    expect(found.some((p) => p.where.includes("environ"))).toBe(true);
    for (const p of procs.filter((q) => /runner-agent\.sh|sleep 45|script\.sh/.test(q.cmdline))) expect(whereFound(p, jitconfig), p.cmdline).toEqual([]);

    expect(await inInstance(job.instance, "ls /opt/runnerd")).toBe("runner-agent.sh\n");
    const [done] = await t.world.emulator.waitForJobs([job.id], 120_000);
    expect(done?.conclusion).toBe("success");
  });
});
