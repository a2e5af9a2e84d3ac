// Runs the real fake-runner scripts (busybox sh when present) against a started emulator.
import { mkdtemp, readFile, readdir, rm, chmod, stat, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubEmulator } from "../index.js";
import type { GitHubEmulator } from "../index.js";
import { installFakeRunner } from "./index.js";
import { runFakeRunnerScript as startScript } from "./test-support.js";
import type { RunScriptOptions, RunningScript } from "./test-support.js";

// Non-root when we can drop privileges, so the real "must not run as root" rule is exercised.
const isRoot = process.getuid?.() === 0;
const canDrop = isRoot && existsSync("/usr/bin/setpriv");
const NOBODY = { uid: 65534, gid: 65534 };

let emu: GitHubEmulator;
const started: RunningScript[] = [];

// Tracks every script so a failed test does not leave a runner polling in the background.
function runFakeRunnerScript(...args: Parameters<typeof startScript>): RunningScript {
  const script = startScript(...args);
  started.push(script);
  return script;
}
let root: string;
let tmp: string;

function scriptOpts(extra: RunScriptOptions = {}): RunScriptOptions {
  const base: RunScriptOptions = canDrop ? { user: NOBODY } : { env: { RUNNER_ALLOW_RUNASROOT: "1" } };
  return { ...base, ...extra, env: { ...base.env, TMPDIR: tmp, ...extra.env } };
}

async function configure(args: string[], extra?: RunScriptOptions): Promise<{ code: number | null; output: string }> {
  return runFakeRunnerScript(root, "config.sh", args, scriptOpts(extra)).exited;
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

const repoUrl = (): string => `${emu.url}/octo/app`;

describe("fake runner", () => {
  it("configures, listens, runs one job, reports it, deregisters and exits 0", async () => {
    const { token } = emu.mintRegistrationToken({ repo: "octo/app" });
    const cfg = await configure(["--url", repoUrl(), "--token", token, "--name", "rd-1", "--labels", "gpu",
      "--ephemeral", "--unattended", "--disableupdate"]);
    expect(cfg.output).toContain("√ Runner successfully added");
    expect(cfg.output).toContain("√ Settings Saved.");
    expect(cfg.code).toBe(0);
    const settings = await readFile(join(root, ".runner"), "utf8");
    expect(JSON.parse(settings)).toMatchObject({ agentName: "rd-1", ephemeral: true, disableUpdate: true, workFolder: "_work", gitHubUrl: repoUrl() });
    expect((await stat(join(root, ".credentials_rsaparams"))).mode & 0o777).toBe(0o600);
    const [reg] = emu.runners();
    expect(reg?.labels.map((l) => l.name)).toEqual(["self-hosted", "Linux", "X64", "gpu"]);

    const run = runFakeRunnerScript(root, "run.sh", [], scriptOpts());
    await run.waitForOutput(/Listening for Jobs/, 10_000);
    expect(emu.runners()[0]?.listeningAt).not.toBeNull();
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted", "gpu"], name: "build",
      script: 'echo "hello from $RUNNER_NAME in $GITHUB_WORKSPACE ci=$CI"\npwd\n' });
    const second = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted"], name: "second", script: "true" });
    const [done] = await emu.waitForJobs([job.id], 15_000);
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(exit.output).toContain("Running job: build");
    expect(exit.output).toContain("Job build completed with result: Succeeded");
    expect(done?.conclusion).toBe("success");
    expect(done?.runnerName).toBe("rd-1");
    expect(done?.log).toContain(`hello from rd-1 in ${root}/_work/app/app ci=true`);
    // Ephemeral: registration gone, local config gone, and the second job never came to it.
    expect(emu.runners()).toEqual([]);
    expect(emu.runnerHistory()[0]?.deletedAt).not.toBeNull();
    expect(existsSync(join(root, ".runner"))).toBe(false);
    expect(existsSync(join(root, ".credentials"))).toBe(false);
    expect(emu.job(second.id)?.status).toBe("queued");
    expect(emu.job(second.id)?.runnerId).toBeNull();
    const diag = await readdir(join(root, "_diag"));
    expect(diag.some((f) => /^Runner_\d{8}-\d{6}-utc\.log$/.test(f))).toBe(true);
    expect(diag.some((f) => f.startsWith("Worker_"))).toBe(true);
    expect(emu.violations).toEqual([]);
  }, 30_000);

  it("reports a failing script as Failed", async () => {
    const { encoded_jit_config } = emu.mintJitConfig({ repo: "octo/app" }, { name: "jit-1", labels: ["self-hosted", "linux"] });
    const run = runFakeRunnerScript(root, "run.sh", ["--jitconfig", encoded_jit_config], scriptOpts());
    await run.waitForOutput(/Listening for Jobs/, 10_000);
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["linux"], name: "fails", script: "echo boom >&2\nexit 3" });
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(exit.output).toContain("Job fails completed with result: Failed");
    expect(emu.job(job.id)).toMatchObject({ status: "completed", conclusion: "failure", exitCode: 3, runnerName: "jit-1" });
    expect(emu.job(job.id)?.log).toContain("boom");
    expect(emu.runners()).toEqual([]);
  }, 30_000);

  it("fails configure with exit 1 when the registration token expired", async () => {
    const { token } = emu.mintRegistrationToken({ repo: "octo/app" });
    emu.expireRegistrationTokens();
    const cfg = await configure(["--url", repoUrl(), "--token", token, "--unattended"]);
    expect(cfg.code).toBe(1);
    expect(cfg.output).toMatch(/Unauthorized/);
    expect(existsSync(join(root, ".runner"))).toBe(false);
  }, 20_000);

  it("fails configure for a token of another scope", async () => {
    const { token } = emu.mintRegistrationToken({ repo: "octo/other" });
    const cfg = await configure(["--url", repoUrl(), "--token", token, "--unattended"]);
    expect(cfg.code).toBe(1);
    expect(cfg.output).toMatch(/Forbidden/);
  }, 20_000);

  it("refuses a duplicate name without --replace and replaces with it", async () => {
    const first = emu.mintRegistrationToken({ repo: "octo/app" }).token;
    expect((await configure(["--url", repoUrl(), "--token", first, "--name", "dup", "--unattended"])).code).toBe(0);
    await rm(join(root, ".runner"));
    const again = await configure(["--url", repoUrl(), "--token", first, "--name", "dup", "--unattended"]);
    expect(again.code).toBe(1);
    expect(again.output).toContain("A runner exists with the same name");
    const replaced = await configure(["--url", repoUrl(), "--token", first, "--name", "dup", "--unattended", "--replace"]);
    expect(replaced.code).toBe(0);
    expect(emu.runners().map((r) => r.name)).toEqual(["dup"]);
    expect(emu.runnerHistory()).toHaveLength(2);
  }, 20_000);

  it("refuses to configure twice, and to configure as root without RUNNER_ALLOW_RUNASROOT", async () => {
    const { token } = emu.mintRegistrationToken({ repo: "octo/app" });
    expect((await configure(["--url", repoUrl(), "--token", token, "--unattended"])).code).toBe(0);
    const twice = await configure(["--url", repoUrl(), "--token", token, "--unattended"]);
    expect(twice.code).toBe(1);
    expect(twice.output).toContain("remove' first");
    if (isRoot) {
      const asRoot = await runFakeRunnerScript(root, "config.sh", ["--url", repoUrl(), "--token", token], { env: { TMPDIR: tmp } }).exited;
      expect(asRoot.code).toBe(1);
      expect(asRoot.output).toContain("Must not run with sudo");
    }
  }, 20_000);

  it("takes options from ACTIONS_RUNNER_INPUT_* variables", async () => {
    const { token } = emu.mintRegistrationToken({ org: "octo" });
    emu.addRunnerGroup("octo", "ci");
    const cfg = await configure([], { env: {
      ACTIONS_RUNNER_INPUT_URL: `${emu.url}/octo`, ACTIONS_RUNNER_INPUT_TOKEN: token, ACTIONS_RUNNER_INPUT_NAME: "from-env",
      ACTIONS_RUNNER_INPUT_RUNNERGROUP: "ci", ACTIONS_RUNNER_INPUT_EPHEMERAL: "true", ACTIONS_RUNNER_INPUT_UNATTENDED: "1",
      ACTIONS_RUNNER_INPUT_LABELS: "a,b", ACTIONS_RUNNER_INPUT_NO_DEFAULT_LABELS: "true",
    } });
    expect(cfg.code).toBe(0);
    const [reg] = emu.runners();
    expect(reg).toMatchObject({ name: "from-env", ephemeral: true, scope: { org: "octo" } });
    expect(reg?.groupId).not.toBe(1);
    expect(reg?.labels.map((l) => l.name)).toEqual(["a", "b"]);
  }, 20_000);

  it("rejects an unknown runner group with exit 1", async () => {
    const { token } = emu.mintRegistrationToken({ org: "octo" });
    const cfg = await configure(["--url", `${emu.url}/octo`, "--token", token, "--runnergroup", "nope", "--unattended"]);
    expect(cfg.code).toBe(1);
    expect(cfg.output).toContain('Could not find any self-hosted runner group named "nope".');
  }, 20_000);

  it("exits 0 and cleans up when its registration is deleted while listening", async () => {
    const { encoded_jit_config, runner } = emu.mintJitConfig({ org: "octo" }, { name: "gone", labels: ["self-hosted"] });
    const run = runFakeRunnerScript(root, "bin/Runner.Listener", ["run", "--jitconfig", encoded_jit_config], scriptOpts());
    await run.waitForOutput(/Listening for Jobs/, 10_000);
    emu.deleteRunner(runner.id);
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(exit.output).toContain("The runner no longer exists on the server. Cleaning up local configuration.");
    expect(existsSync(join(root, ".runner"))).toBe(false);
  }, 20_000);

  it("exits 5 after retrying a session another process holds (its JIT config used twice)", async () => {
    const { encoded_jit_config } = emu.mintJitConfig({ repo: "octo/app" }, { name: "jit-twice", labels: ["self-hosted"] });
    const first = runFakeRunnerScript(root, "bin/Runner.Listener", ["run", "--jitconfig", encoded_jit_config], scriptOpts());
    await first.waitForOutput(/Listening for Jobs/, 10_000);
    // The session stays held; the fault only shortens the listener's 30 s / 4 min retry.
    emu.armRunnerFault({ kind: "session-conflict", retryIntervalSeconds: 1, retryLimitSeconds: 2 });
    const secondRoot = await mkdtemp(join(tmpdir(), "fake-runner-root2-"));
    try {
      await installFakeRunner(secondRoot, canDrop ? NOBODY : undefined);
      if (canDrop) await chmod(secondRoot, 0o755);
      const second = await runFakeRunnerScript(secondRoot, "bin/Runner.Listener", ["run", "--jitconfig", encoded_jit_config], scriptOpts()).exited;
      expect(second.code).toBe(5);
      expect(second.output.match(/A session for this runner already exists\./g)).toHaveLength(3);
      expect(second.output).toContain("Stop retry on SessionConflictException after retried for 2 seconds.");
      expect(second.output).not.toContain("Listening for Jobs");
    } finally {
      await rm(secondRoot, { recursive: true, force: true });
    }
    first.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);
  }, 20_000);

  it("exits 1 when not configured or given a bad jitconfig (run.sh makes that 0)", async () => {
    const bare = await runFakeRunnerScript(root, "bin/Runner.Listener", ["run"], scriptOpts()).exited;
    expect(bare.code).toBe(1);
    expect(bare.output).toContain("Not configured");
    const bad = await runFakeRunnerScript(root, "bin/Runner.Listener", ["run", "--jitconfig", "%%%not-base64"], scriptOpts()).exited;
    expect(bad.code).toBe(1);
    const notJson = await runFakeRunnerScript(root, "bin/Runner.Listener", ["run", "--jitconfig", Buffer.from("hello").toString("base64")], scriptOpts()).exited;
    expect(notJson.code).toBe(1);
    const wrapped = await runFakeRunnerScript(root, "run.sh", [], scriptOpts()).exited;
    expect(wrapped.code).toBe(0);
    expect(wrapped.output).toContain("Runner listener exit with terminated error, stop the service, no retry needed.");
    expect(wrapped.output).toContain("Exiting runner...");
  }, 20_000);

  it("rides out transient 5xx and 429 answers while polling", async () => {
    const { encoded_jit_config } = emu.mintJitConfig({ repo: "octo/app" }, { name: "flaky", labels: ["self-hosted"] });
    emu.failNext({ path: "/_runner/sessions", status: 503 });
    const run = runFakeRunnerScript(root, "run.sh", ["--jitconfig", encoded_jit_config], scriptOpts());
    await run.waitForOutput(/Listening for Jobs/, 15_000);
    emu.failNext({ path: "/_runner/message", status: 502, times: 2 });
    emu.failNext({ path: /\/complete$/, status: 429, retryAfter: 1 });
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "echo ok" });
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(emu.job(job.id)?.conclusion).toBe("success");
  }, 30_000);

  it("works with config.sh remove", async () => {
    const { token } = emu.mintRegistrationToken({ repo: "octo/app" });
    expect((await configure(["--url", repoUrl(), "--token", token, "--name", "rm-me", "--unattended"])).code).toBe(0);
    const removeToken = emu.mintRemoveToken({ repo: "octo/app" }).token;
    const removed = await runFakeRunnerScript(root, "config.sh", ["remove", "--token", removeToken], scriptOpts()).exited;
    expect(removed.code).toBe(0);
    expect(removed.output).toContain("√ Runner removed successfully");
    expect(emu.runners()).toEqual([]);
    expect(existsSync(join(root, ".runner"))).toBe(false);
  }, 20_000);
});

// The scripts must also work where /bin/sh is dash or bash, and never reach for curl or jq.
const otherShells = [["/usr/bin/dash"], ["/usr/bin/bash", "--posix"]].filter(([sh]) => sh !== undefined && existsSync(sh));

describe("fake runner under other shells", () => {
  it.each(otherShells)("runs a job end to end under %s", async (...shell: string[]) => {
    const { encoded_jit_config } = emu.mintJitConfig({ repo: "octo/app" }, { name: "shells", labels: ["self-hosted"] });
    const run = runFakeRunnerScript(root, "bin/Runner.Listener", ["run", "--jitconfig", encoded_jit_config], scriptOpts({ shell }));
    await run.waitForOutput(/Listening for Jobs/, 10_000);
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "echo via $0" });
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(emu.job(job.id)?.conclusion).toBe("success");
  }, 20_000);

  it("uses no curl, jq or bash-only syntax", async () => {
    const files = ["config.sh", "run.sh", "run-helper.sh.template", "safe_sleep.sh", "env.sh", "bin/Runner.Listener", "bin/runner-lib.sh", "bin/configure.sh",
      "bin/listener.sh", "bin/job.sh", "bin/self-update.sh", "bin/update.sh.template", "bin/installdependencies.sh"];
    for (const file of files) {
      const text = (await readFile(join(root, file), "utf8")).split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");
      expect(text, file).not.toMatch(/\bcurl\b|\bjq\b|\[\[|\$\{[A-Za-z_]+\/\/|\bfunction\b/);
    }
  });
});

// busybox sh finds its own wget applet whatever PATH says, so "wget is missing" needs another shell.
const plainShell = otherShells[0];
const LOG = "pm.log";

/**
 * A PATH of only `id`, `cat`, `chmod` and a fake package manager that logs its calls and "installs"
 * wget (a stub); with `failUntilUpdate` its installs fail until `update` ran, like stale lists.
 */
async function stagePath(manager: string | null, opts: { failUntilUpdate?: boolean; alwaysFail?: boolean } = {}): Promise<string> {
  const bin = await mkdtemp(join(tmp, "path-"));
  for (const tool of ["id", "cat", "chmod"]) {
    const real = [`/usr/bin/${tool}`, `/bin/${tool}`].find((p) => existsSync(p)) ?? tool;
    await symlink(real, join(bin, tool));
  }
  if (manager === null) return bin;
  const script = `#!/bin/sh
echo "${manager} $* DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-}" >>"${join(tmp, LOG)}"
${opts.alwaysFail === true ? "exit 1" : ""}
case "$1" in
  update) : >"${bin}/.updated"; exit 0 ;;
esac
${opts.failUntilUpdate === true ? `[ -f "${bin}/.updated" ] || exit 100` : ""}
printf '#!/bin/sh\\n' >"${bin}/wget"
chmod 755 "${bin}/wget"
`;
  await writeFile(join(bin, manager), script, { mode: 0o755 });
  return bin;
}

async function managerLog(): Promise<string[]> {
  const text = existsSync(join(tmp, LOG)) ? await readFile(join(tmp, LOG), "utf8") : "";
  return text.split("\n").filter((l) => l !== "");
}

async function installDependencies(path: string | undefined, shell = plainShell): Promise<{ code: number | null; output: string }> {
  return runFakeRunnerScript(root, "bin/installdependencies.sh", [], { shell, env: { TMPDIR: tmp, PATH: path } }).exited;
}

const FINISH = "-----------------------------\n Finish Install Dependencies\n-----------------------------\n";

describe("bin/installdependencies.sh", () => {
  it("is executable", async () => {
    expect((await stat(join(root, "bin/installdependencies.sh"))).mode & 0o111).not.toBe(0);
  });

  it.runIf(canDrop || !isRoot)("refuses to run without root", async () => {
    const run = runFakeRunnerScript(root, "bin/installdependencies.sh", [], canDrop ? { user: NOBODY } : {});
    const { code, output } = await run.exited;
    expect(code).toBe(1);
    expect(output).toBe("Need to run with sudo privilege\n");
  });

  it.runIf(isRoot && plainShell !== undefined)("installs nothing when wget is already there", async () => {
    const bin = await stagePath("apt-get");
    await symlink("/bin/true", join(bin, "wget"));
    const { code, output } = await installDependencies(bin);
    expect(code).toBe(0);
    expect(output).toContain(`wget is already installed: ${bin}/wget`);
    expect(output.endsWith(FINISH)).toBe(true);
    expect(await managerLog()).toEqual([]);
  });

  it.runIf(isRoot && plainShell !== undefined)("installs wget with apt-get, without recommends, updating only after a failure", async () => {
    const fresh = await installDependencies(await stagePath("apt-get"));
    expect(fresh.code).toBe(0);
    expect(fresh.output.endsWith(FINISH)).toBe(true);
    const install = "apt-get install -y --no-install-recommends wget DEBIAN_FRONTEND=noninteractive";
    expect(await managerLog()).toEqual([install]);
    await rm(join(tmp, LOG));
    const stale = await installDependencies(await stagePath("apt-get", { failUntilUpdate: true }));
    expect(stale.code).toBe(0);
    expect(await managerLog()).toEqual([install, "apt-get update DEBIAN_FRONTEND=", install]);
  });

  it.runIf(isRoot && plainShell !== undefined).each([
    ["dnf", "dnf install -y wget"],
    ["yum", "yum install -y wget"],
    ["apk", "apk add --no-cache wget"],
    ["zypper", "zypper -n install wget"],
  ])("installs wget with %s", async (manager, call) => {
    const { code, output } = await installDependencies(await stagePath(manager));
    expect(code).toBe(0);
    expect(output.endsWith(FINISH)).toBe(true);
    expect(await managerLog()).toEqual([`${call} DEBIAN_FRONTEND=`]);
  });

  it.runIf(isRoot && plainShell !== undefined)("exits 1 when the install fails or there is no package manager", async () => {
    const failed = await installDependencies(await stagePath("dnf", { alwaysFail: true }));
    expect(failed.code).toBe(1);
    expect(failed.output).toContain("'dnf' failed with exit code '1'");
    expect(failed.output).not.toContain("Finish Install Dependencies");
    const none = await installDependencies(await stagePath(null));
    expect(none.code).toBe(1);
    expect(none.output).toContain("Found none of 'apt-get', 'dnf', 'yum', 'apk' or 'zypper'");
  });
});
