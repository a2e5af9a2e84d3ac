// app and pat modes on a real LXD: runnerd mints a just-in-time config per runner, so no
// registration token is ever created or enters an instance; registrations of runners that die
// before their job are deleted, and the sweep deletes the ones left behind.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startDaemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/log.js";
import { ensureBuilt, lxdOrSkip, runCli, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("JIT runners (pat and app) on a real LXD", () => {
  const t = useDaemonWorld();

  function writePat(mode = 0o600): string {
    const path = join(t.world.stateDir, "github-pat");
    writeFileSync(path, `${t.world.emulator.pat}\n`, { mode });
    return path;
  }

  it("refuses to start with a PAT file other users can read, and says how to fix it", async () => {
    const path = join(t.world.stateDir, "loose-pat");
    writeFileSync(path, `${t.world.emulator.pat}\n`, { mode: 0o644 });
    t.world.writeConfig([{ name: "jit", repo: "acme/jit", floor: 1 }], { github: { emu: { url: t.world.emulator.url, auth: { type: "pat", token_file: path } } } });
    const err = await startDaemon({ configPath: t.world.configPath, logger: createLogger("silent") }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`github.emu.auth.token_file: ${path} has mode 0644, so other users can read or change it; run: chmod 600 ${path}`);
    expect(await t.world.instances()).toEqual([]);
  });

  it("pat, repository scope: JIT runners only, one GitHub call per runner cycle, and failed runners' registrations removed", async () => {
    const emu = t.world.emulator;
    const repo = "acme/jit";
    t.world.writeConfig([{ name: "jit", repo, floor: 2, labels: ["jit-test"] }], { github: { emu: { url: emu.url, auth: { type: "pat", token_file: writePat() } } } });
    const daemon = await t.startDaemon({ sweepDelayMs: 3_600_000 });

    const listening = await waitFor("2 JIT runners listening", () => {
      const live = emu.runners().filter((r) => r.listeningAt !== null);
      return live.length === 2 ? live : undefined;
    }, 120_000);
    for (const runner of listening) {
      expect(runner.jit).toBe(true);
      expect(runner.labels.map((l) => l.name)).toEqual(["self-hosted", "Linux", "X64", "jit-test", `runnerd-${t.world.controllerId}`]);
    }
    // The config key carries the registration id, and no secret: the JIT config is only in the
    // 0600 file the agent deleted at boot.
    for (const runner of listening) {
      const instance = await t.world.lxd.getInstance(runner.name);
      expect(instance?.config["user.runnerd.github-runner-id"]).toBe(String(runner.id));
      expect(JSON.stringify(instance?.config)).not.toMatch(/jitconfig|eyJ/i);
      expect(await t.world.lxd.pullFile(runner.name, "/opt/runnerd/runner.json")).toBeNull();
    }

    // One job: the used runner is replaced; GitHub is asked exactly once (the new JIT config).
    emu.clearApiCalls();
    const job = emu.enqueueJob({ scope: { repo }, labels: ["self-hosted", "jit-test"], name: "jit-job", script: "echo ran-on-jit" });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    expect(done?.conclusion).toBe("success");
    await waitFor("a replacement listening", () => emu.runners().filter((r) => r.listeningAt !== null && r.name !== done?.runnerName).length === 2 || undefined, 120_000);
    const calls = emu.apiCalls().map((c) => `${c.method} ${c.operationId} ${c.status}`);
    expect(calls).toEqual(["POST actions/generate-runner-jitconfig-for-repo 201"]);
    // The budget GitHub reports is visible in Prometheus, read from the last answer's headers.
    const metrics = await (await fetch(`${daemon.http.url}/metrics`)).text();
    const remaining = Number(/runnerd_github_rate_limit_remaining\{connection="emu",credential="pat",resource="core"\} (\d+)/.exec(metrics)?.[1]);
    expect(remaining).toBe(emu.rateLimit(emu.pat).remaining);
    expect(metrics).toMatch(/runnerd_github_requests\{connection="emu",route="POST \/repos\/\{owner\}\/\{repo\}\/actions\/runners\/generate-jitconfig",status="201"\} 3/);

    // A runner that dies before its job (here: deleted as surplus when the floor drops) takes its
    // registration with it at once.
    const before = emu.runners().map((r) => r.name);
    t.world.writeConfig([{ name: "jit", repo, floor: 1, idleTimeout: "1s", labels: ["jit-test"] }], { github: { emu: { url: emu.url, auth: { type: "pat", token_file: writePat() } } } });
    expect(daemon.reload().applied).toBe(true);
    await waitFor("one registration left", () => emu.runners().length === 1 || undefined, 60_000);
    await waitFor("one instance left", async () => (await t.world.instances()).length === 1 || undefined, 60_000);
    const gone = before.filter((name) => !emu.runners().some((r) => r.name === name));
    expect(gone).toHaveLength(1);
    expect(emu.apiCalls().filter((c) => c.method === "DELETE")).toHaveLength(1);

    // An instance that stops behind runnerd's back is collected, and its registration goes too.
    const [survivor] = await t.world.instances();
    await t.world.removeInstances();
    await waitFor("the replacement listening", () => emu.runners().some((r) => r.listeningAt !== null && r.name !== survivor?.name) || undefined, 120_000);
    await waitFor("the removed runner's registration deleted", () => !emu.runners().some((r) => r.name === survivor?.name) || undefined, 30_000);

    // A registration minted just before a crash (no instance ever made) is deleted by the sweep,
    // which leaves alone registrations that are not runnerd's.
    emu.mintJitConfig({ repo }, { name: "rt-jit-orphan01", labels: ["self-hosted", `runnerd-${t.world.controllerId}`] });
    emu.mintJitConfig({ repo }, { name: "rt-jit-foreign1", labels: ["self-hosted"] });
    emu.mintJitConfig({ repo }, { name: "someone-elses", labels: ["self-hosted", `runnerd-${t.world.controllerId}`] });
    const report = await daemon.sweeper.sweep();
    expect(report).toMatchObject({ scopes: 1, deleted: 1, errors: [] });
    expect(emu.runners().map((r) => r.name).sort()).toEqual([...(await t.world.instances()).map((i) => i.name), "rt-jit-foreign1", "someone-elses"].sort());

    // doctor proves the PAT may manage the scope's runners and shows GitHub's budget.
    await ensureBuilt();
    const doctor = await runCli(["--config", t.world.configPath, "doctor", "--no-launch"]);
    expect(doctor.stdout).toMatch(/ok +github emu: may manage runners of repo:acme\/jit \(\d+ registered\); API budget \d+\/5000, resets in/);
    expect(doctor.stdout).toMatch(/ok +repo:acme\/jit \(pat\): JIT configs from the PAT; \d+\/5000 API requests left this hour/);
    expect(emu.violations).toEqual([]);
  });

  it("pat, org scope in the default group", async () => {
    await t.stopDaemon();
    await t.world.removeInstances();
    const emu = t.world.emulator;
    t.world.writeConfig([{ name: "patorg", org: "acme-pat", floor: 1 }], { github: { emu: { url: emu.url, auth: { type: "pat", token_file: writePat() } } } });
    await t.startDaemon({ sweepDelayMs: 3_600_000 });
    const runner = await waitFor("an org runner listening", () => emu.runners().find((r) => r.listeningAt !== null && "org" in r.scope), 120_000);
    expect(runner).toMatchObject({ jit: true, groupId: 1, scope: { org: "acme-pat" } });
    const job = emu.enqueueJob({ scope: { org: "acme-pat" }, repository: "acme-pat/tool", labels: ["self-hosted", "linux"], name: "pat-org-job", script: "echo org" });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    expect(done).toMatchObject({ conclusion: "success", runnerName: runner.name });
  });

  it("app, org scope with a runner group and a repository of the same installation: one installation token serves both", async () => {
    await t.stopDaemon();
    await t.world.removeInstances();
    const emu = t.world.emulator;
    const app = emu.createApp({ slug: "runnerd-test" });
    emu.installApp(app.id, "acme-org");
    const group = emu.addRunnerGroup("acme-org", "ci");
    const keyFile = join(t.world.stateDir, "app.pem");
    writeFileSync(keyFile, app.privateKeyPem, { mode: 0o600 });
    const github = { emu: { url: emu.url, auth: { type: "app", app_id: app.id, private_key_file: keyFile } } };
    t.world.writeConfig([{ name: "org", org: "acme-org", runnerGroup: "ci", floor: 1, labels: ["org-pool"] }, { name: "site", repo: "acme-org/site", floor: 1 }], { github });
    await t.startDaemon({ sweepDelayMs: 3_600_000 });

    const listening = await waitFor("an org runner and a repository runner listening", () => {
      const live = emu.runners().filter((r) => r.listeningAt !== null && r.name.startsWith("rt-"));
      return live.some((r) => "org" in r.scope) && live.some((r) => "repo" in r.scope) ? live : undefined;
    }, 120_000);
    const orgRunner = listening.find((r) => "org" in r.scope);
    expect(orgRunner?.groupId).toBe(group.id);
    expect(orgRunner?.jit).toBe(true);

    const jobs = [
      emu.enqueueJob({ scope: { org: "acme-org" }, repository: "acme-org/anything", labels: ["self-hosted", "org-pool"], name: "org-job", script: "echo org" }),
      emu.enqueueJob({ scope: { repo: "acme-org/site" }, labels: ["self-hosted"], name: "site-job", script: "echo site" }),
    ];
    const done = await emu.waitForJobs(jobs.map((j) => j.id), 120_000);
    expect(done.map((j) => j.conclusion)).toEqual(["success", "success"]);
    expect(done[0]?.runnerName).toMatch(/^rt-org-/);
    // Installation lookups and the runner group are cached, the installation token reused.
    expect(emu.installationTokensIssued(app.id)).toBe(1);
    const jwtCalls = emu.apiCalls().filter((c) => c.credential === "app-jwt").map((c) => c.operationId);
    expect(jwtCalls.sort()).toEqual(["apps/create-installation-access-token", "apps/get-org-installation", "apps/get-repo-installation"]);
    expect(emu.violations).toEqual([]);
  });
});
