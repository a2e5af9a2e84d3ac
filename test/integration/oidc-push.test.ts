// Push mode over HTTPS on a real LXD: a workflow proves who it is with its GitHub Actions OIDC
// token (minted by the emulator's issuer) and pushes a registration token to the running daemon;
// runners start for that scope at once, for a repository and an organisation. Refused pushes store
// nothing. (Every verification failure is covered by the unit tests of src/http and credentials.)
import { describe, expect, it } from "vitest";
import { readStatusFile } from "../../src/daemon/state-files.js";
import { ensureBuilt, lxdOrSkip, runCli, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();
const audience = "https://runnerd.example.test";

describe.skipIf(lxd.skip)("token push (HTTPS with OIDC, and SSH) on a real LXD", () => {
  const t = useDaemonWorld();

  it("stores pushed tokens from allowed workflows, for a repository and an org, and runs their jobs", async () => {
    const emu = t.world.emulator;
    const oidc = {
      audience,
      allow: [{ repository: "acme/infra", ref: "refs/heads/main", event_name: ["schedule", "workflow_dispatch"], scopes: ["repo:acme/oidc", "org:acme-oidc"] }],
    };
    t.world.writeConfig([{ name: "oidc", repo: "acme/oidc", floor: 1 }, { name: "oidc-org", org: "acme-oidc", floor: 1 }], { github: { emu: { url: emu.url, auth: { type: "push", oidc } } } });
    const daemon = await t.startDaemon();
    const status = await waitFor("status.json with the HTTP address", () => readStatusFile(t.world.stateDir)?.http, 30_000);
    expect(status.url).toBe(daemon.http.url);
    expect(await t.world.instances()).toEqual([]);

    const push = (scope: string, grant: { token: string; expires_at: string }, claims: Record<string, string> = {}, aud = audience) =>
      fetch(`${daemon.http.url}/api/v1/registration-token`, {
        method: "POST",
        headers: { authorization: `Bearer ${emu.oidc.mint({ repository: "acme/infra", repository_owner: "acme", ref: "refs/heads/main", event_name: "schedule", ...claims }, { audience: aud })}`, "content-type": "application/json" },
        body: JSON.stringify({ ...grant, scope }),
      });

    // Refused: another repository, a feature branch, a wrong audience. Nothing is stored.
    const refused = [
      await push("repo:acme/oidc", emu.mintRegistrationToken({ repo: "acme/oidc" }), { repository: "acme/other" }),
      await push("repo:acme/oidc", emu.mintRegistrationToken({ repo: "acme/oidc" }), { ref: "refs/heads/feature" }),
      await push("repo:acme/oidc", emu.mintRegistrationToken({ repo: "acme/oidc" }), {}, "https://elsewhere.example"),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 401]);
    expect(await refused[2]?.json()).toEqual({ message: "invalid or expired OIDC token" });
    expect(daemon.store.listTokens()).toEqual([]);

    // Allowed: the repository's and the org's tokens arrive, and runners start without waiting for a resync.
    const repoPush = await push("repo:acme/oidc", emu.mintRegistrationToken({ repo: "acme/oidc" }));
    expect(repoPush.status).toBe(201);
    expect(await repoPush.json()).toMatchObject({ scope: "repo:acme/oidc" });
    expect((await push("org:acme-oidc", emu.mintRegistrationToken({ org: "acme-oidc" }))).status).toBe(201);
    expect(daemon.store.listTokens().map((tok) => [tok.scope, tok.source])).toEqual([
      ["org:acme-oidc", "oidc:acme/infra@refs/heads/main (acme/infra/.github/workflows/runner-token.yml@refs/heads/main)"],
      ["repo:acme/oidc", "oidc:acme/infra@refs/heads/main (acme/infra/.github/workflows/runner-token.yml@refs/heads/main)"],
    ]);
    await waitFor("a repository runner and an org runner listening", () => {
      const live = emu.runners().filter((r) => r.listeningAt !== null);
      return live.some((r) => "org" in r.scope) && live.some((r) => "repo" in r.scope) ? live : undefined;
    }, 120_000);
    const jobs = [
      emu.enqueueJob({ scope: { repo: "acme/oidc" }, labels: ["self-hosted"], name: "repo-job", script: "echo repo" }),
      emu.enqueueJob({ scope: { org: "acme-oidc" }, repository: "acme-oidc/app", labels: ["self-hosted"], name: "org-job", script: "echo org" }),
    ];
    const done = await emu.waitForJobs(jobs.map((j) => j.id), 120_000);
    expect(done.map((j) => j.conclusion)).toEqual(["success", "success"]);

    // Token health in status.json names where each token came from.
    const credentials = await waitFor("credential health in status.json", () => readStatusFile(t.world.stateDir)?.credentials, 10_000);
    expect(credentials.map((c) => [c.scope, c.mode, c.level])).toEqual([["repo:acme/oidc", "push", "ok"], ["org:acme-oidc", "push", "ok"]]);
    // And in Prometheus: seconds to expiry per scope (GitHub's tokens last an hour).
    const metrics = await (await fetch(`${daemon.http.url}/metrics`)).text();
    const expiry = Number(/runnerd_credential_expiry_seconds\{scope="repo:acme\/oidc",mode="push"\} (\d+)/.exec(metrics)?.[1]);
    expect(expiry).toBeGreaterThan(3500);
    expect(expiry).toBeLessThanOrEqual(3600);
    expect(metrics).toContain('runnerd_credential_health{scope="org:acme-oidc",mode="push",level="ok"} 1');
    expect(emu.violations).toEqual([]);
  });

  it("SSH forced command: a key pushes for the org scope it owns, and runners start", async () => {
    await t.stopDaemon();
    await t.world.removeInstances();
    const emu = t.world.emulator;
    // Also: a pool without default labels registers with its own labels only.
    t.world.writeConfig([{ name: "ssh-org", org: "acme-ssh", floor: 1, labels: ["ssh-org"], defaultLabels: false }], { github: { emu: { url: emu.url, auth: { type: "push", ssh_keys: { renewer: ["org:acme-ssh"] } } } } });
    const daemon = await t.startDaemon();
    await ensureBuilt();
    const grant = JSON.stringify(emu.mintRegistrationToken({ org: "acme-ssh" }));
    const env = { SSH_ORIGINAL_COMMAND: "org:acme-ssh", SSH_CONNECTION: "192.0.2.7 50000 192.0.2.1 22" };
    const pushed = await runCli(["--config", t.world.configPath, "token", "set", "--ssh-key", "renewer"], { input: grant, env });
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).not.toContain(JSON.parse(grant).token);
    expect(daemon.store.listTokens().find((tok) => tok.scope === "org:acme-ssh")?.source).toBe("ssh:renewer from 192.0.2.7");
    const runner = await waitFor("an org runner listening", () => emu.runners().find((r) => r.listeningAt !== null && "org" in r.scope), 120_000);
    expect(runner.labels.map((l) => l.name)).toEqual(["ssh-org"]);
    const job = emu.enqueueJob({ scope: { org: "acme-ssh" }, repository: "acme-ssh/site", labels: ["ssh-org"], name: "ssh-org-job", script: "echo org" });
    const [done] = await emu.waitForJobs([job.id], 120_000);
    expect(done).toMatchObject({ conclusion: "success", runnerName: runner.name });
  });
});
