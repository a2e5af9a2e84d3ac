// The push-mode CLI as an SSH forced command and a workflow generator, run as the built
// `bin/runnerd` with a temporary config and state dir (no LXD needed): `token set --ssh-key`
// stores only what the key may push, taking the scope from SSH_ORIGINAL_COMMAND, and
// `workflow print` renders a workflow for a configured scope.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ensureBuilt, runCli } from "../support/lxd-harness.js";

const token = "AABBCCDDEEFF00112233445566";
const grant = JSON.stringify({ token, expires_at: new Date(Date.now() + 3600_000).toISOString() });
const sshConnection = "203.0.113.7 50022 192.0.2.1 22";

describe("push-mode CLI: token set --ssh-key and workflow print", () => {
  let dir = "";
  let configPath = "";
  let noOidcPath = "";

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), "runnerd-push-cli-"));
    const config = (oidc: boolean) => ({
      state_dir: join(dir, "state"),
      github: {
        main: {
          auth: {
            type: "push",
            ssh_keys: { renewer: ["repo:acme/web", "org:acme"], "web-only": ["repo:acme/web"] },
            ...(oidc ? { oidc: { audience: "https://ci.example.com/runnerd", allow: [{ repository: "acme/infra", ref: "refs/heads/main", scopes: ["repo:acme/web"] }] } } : {}),
          },
        },
      },
      pools: [
        { name: "web", scope: { repo: "acme/web" }, image: "x" },
        { name: "org", scope: { org: "acme" }, image: "x" },
        { name: "api", scope: { repo: "acme/api" }, image: "x" },
      ],
    });
    configPath = join(dir, "config.yaml");
    noOidcPath = join(dir, "no-oidc.yaml");
    writeFileSync(configPath, stringify(config(true)), { mode: 0o600 });
    writeFileSync(noOidcPath, stringify(config(false)), { mode: 0o600 });
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string, config = configPath) =>
    runCli(["--config", config, ...args], { input, env: { SSH_ORIGINAL_COMMAND: undefined, SSH_CONNECTION: undefined, ...env } });
  const sshPush = (key: string, command: string | undefined) => cli(["token", "set", "--ssh-key", key], { SSH_ORIGINAL_COMMAND: command, SSH_CONNECTION: sshConnection }, grant);
  const stored = async () => {
    const show = await cli(["token", "show", "--json"]);
    expect(show.code).toBe(0);
    return JSON.parse(show.stdout) as { scope: string; source: string; seconds_left: number }[];
  };

  it("stores a token for a scope the key owns, from SSH_ORIGINAL_COMMAND, recording key and address", async () => {
    const pushed = await sshPush("renewer", "repo:acme/web");
    expect(pushed.stderr).toBe("");
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toContain("stored registration token for repo:acme/web");
    const again = await sshPush("renewer", "  token set org:acme ");
    expect(again.code).toBe(0);
    const tokens = await stored();
    expect(tokens.map((t) => [t.scope, t.source])).toEqual([
      ["org:acme", `ssh:renewer from 203.0.113.7`],
      ["repo:acme/web", `ssh:renewer from 203.0.113.7`],
    ]);
    expect(tokens[0]?.seconds_left).toBeGreaterThan(3000);
    for (const out of [pushed.stdout, pushed.stderr, again.stdout, JSON.stringify(tokens)]) expect(out).not.toContain(token);
  });

  it.each([
    ["a scope the key does not own", "web-only", "org:acme", 'ssh key "web-only" may not push tokens for org:acme (allowed: repo:acme/web)'],
    ["a served scope no key owns", "renewer", "repo:acme/api", 'ssh key "renewer" may not push tokens for repo:acme/api (allowed: repo:acme/web, org:acme)'],
    ["an unknown key", "stranger", "repo:acme/api", 'ssh key "stranger" is not configured'],
    ["a malformed command", "renewer", "repo:a/b; rm -rf /", 'token set --ssh-key: the ssh command must be SCOPE or "token set SCOPE", e.g.'],
    ["no command at all", "renewer", undefined, "token set --ssh-key: no SSH_ORIGINAL_COMMAND"],
  ])("refuses %s with exit 2 and stores nothing", async (_, key, command, message) => {
    const before = await stored();
    const refused = await sshPush(key, command);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`runnerd: ${message}`);
    expect(refused.stdout).toBe("");
    expect(await stored()).toEqual(before.map((t) => ({ ...t, seconds_left: expect.any(Number) as number })));
  });

  it("refuses a scope argument next to --ssh-key, and keeps the positional form", async () => {
    const both = await cli(["token", "set", "--ssh-key", "renewer", "repo:acme/api"], { SSH_ORIGINAL_COMMAND: "repo:acme/api" }, grant);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give either SCOPE or --ssh-key, not both");
    const positional = await cli(["token", "set", "repo:acme/api"], {}, grant);
    expect(positional.code).toBe(0);
    expect((await stored()).find((t) => t.scope === "repo:acme/api")?.source).toBe("cli");
  });

  it("prints an SSH renewal workflow for a configured scope", async () => {
    const printed = await cli(["workflow", "print", "--scope", "org:acme", "--via", "ssh", "--ssh-target", "runnerd@ci.example.com"]);
    expect(printed.stderr).toBe("");
    expect(printed.code).toBe(0);
    const workflow = parse(printed.stdout) as { permissions: object; jobs: { renew: { steps: { env: Record<string, string> }[] } } };
    expect(workflow.permissions).toEqual({});
    expect(workflow.jobs.renew.steps[0]?.env).toMatchObject({ SCOPE: "org:acme", RUNNERD_HOST: "runnerd@ci.example.com", MINT_URL: "https://api.github.com/orgs/acme/actions/runners/registration-token" });
    expect(printed.stdout).toContain(`command="/usr/local/bin/runnerd --config ${configPath} token set --ssh-key renewer"`);

    const several = await cli(["workflow", "print", "--scope", "repo:acme/web", "--via", "ssh"]);
    expect(several.code).toBe(2);
    expect(several.stderr).toContain("several ssh keys may push tokens for repo:acme/web (renewer, web-only): choose one with --ssh-key-name");
    const chosen = await cli(["workflow", "print", "--scope", "repo:acme/web", "--via", "ssh", "--ssh-key-name", "web-only"]);
    expect(chosen.code).toBe(0);
    expect(chosen.stdout).toContain("--ssh-key web-only");
  });

  it("prints an OIDC renewal workflow with the configured audience", async () => {
    const printed = await cli(["workflow", "print", "--scope", "acme/web", "--via", "oidc", "--url", "https://ci.example.com/runnerd"]);
    expect(printed.stderr).toBe("");
    expect(printed.code).toBe(0);
    const workflow = parse(printed.stdout) as { permissions: object; jobs: { renew: { steps: { env: Record<string, string> }[] } } };
    expect(workflow.permissions).toEqual({ "id-token": "write" });
    expect(workflow.jobs.renew.steps[0]?.env).toMatchObject({ SCOPE: "repo:acme/web", AUDIENCE: "https://ci.example.com/runnerd", RUNNERD_URL: "https://ci.example.com/runnerd" });
  });

  it.each([
    [["--scope", "repo:acme/nope", "--via", "oidc"], "config", "scope repo:acme/nope is not used by any pool", "(configured: repo:acme/web, org:acme, repo:acme/api)"],
    [["--scope", "org:acme", "--via", "oidc"], "config", "no rule under github.main.auth.oidc.allow", "lists org:acme"],
    [["--scope", "repo:acme/web", "--via", "oidc"], "no-oidc", 'connection "main" takes no HTTPS push: add github.main.auth.oidc', "no-oidc.yaml"],
    [["--scope", "repo:acme/web", "--via", "oidc", "--url", "http://ci.example.com"], "config", "--url must be https://", ""],
    [["--scope", "repo:acme/api", "--via", "ssh"], "config", "no ssh key may push tokens for repo:acme/api", "github.main.auth.ssh_keys.NAME"],
  ])("refuses %j with exit 2", async (args, config, message, more) => {
    const refused = await cli(["workflow", "print", ...args], {}, undefined, config === "config" ? configPath : noOidcPath);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(message);
    expect(refused.stderr).toContain(more);
    expect(refused.stdout).toBe("");
  });
});
