import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/index.js";
import { ConfigError, UsageError } from "../../errors.js";
import type { LxdClient } from "../../lxd/index.js";
import type { Backend } from "./backend.js";
import type { Prompter } from "./prompt.js";
import { runInit, type InitDeps, type InitOptions } from "./run.js";

const pat = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
const euid = process.geteuid?.() ?? 0;
// As root, the secrets go to --user; root itself keeps the test free of a runnerd account.
const user = euid === 0 ? "root" : userInfo().username;
let dir = "";
let out: string[] = [];
let runs: string[][] = [];

const backend = (pools = [{ name: "runners", driver: "btrfs" }]): Backend => ({
  socket: "/var/lib/lxd/unix.socket",
  kind: "lxd",
  version: "5.0.2",
  autoDetected: true,
  pools,
  client: { close: async () => undefined } as unknown as LxdClient,
});

function deps(overrides: Partial<InitDeps> = {}): InitDeps {
  return {
    prompter: undefined,
    env: { RUNNERD_TEST_PAT: pat },
    runnerd: () => (args) => (runs.push(args), 0),
    findBackend: async () => backend(),
    euid,
    out: (text) => out.push(text),
    ...overrides,
  };
}

function options(overrides: Partial<InitOptions> = {}): InitOptions {
  return { configPath: join(dir, "config.yaml"), preseed: join(dir, "preseed.yaml"), force: false, dryRun: false, user, doctor: true, buildImage: false, ...overrides };
}

function preseed(extra = ""): void {
  writeFileSync(
    join(dir, "preseed.yaml"),
    `github:\n  auth: pat\n  token_env: RUNNERD_TEST_PAT\n  webhook_secret: generate\npools:\n  - { name: web, scope: acme/web, floor: 1, ceiling: 3 }\nsettings:\n  state_dir: ${dir}/state\n${extra}`,
    { mode: 0o600 },
  );
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "runnerd-init-"));
  out = [];
  runs = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("runnerd init", () => {
  it("writes the secret files (0600) and a config (0640) that loads, then runs doctor", async () => {
    preseed();
    await runInit(options(), deps());
    const config = loadConfig(join(dir, "config.yaml"));
    expect(config.lxd.storage_pool).toBe("runners"); // the only btrfs pool there is
    expect(config.github.main?.auth).toEqual({ type: "pat", token_file: join(dir, "github-pat") });
    expect(mode(join(dir, "config.yaml"))).toBe("640");
    expect(mode(join(dir, "github-pat"))).toBe("600");
    expect(mode(join(dir, "webhook-secret"))).toBe("600");
    expect(readFileSync(join(dir, "github-pat"), "utf8")).toBe(`${pat}\n`);
    expect(readFileSync(join(dir, "webhook-secret"), "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(join(dir, "github-pat")).uid).toBe(euid);
    expect(runs).toEqual([["--config", join(dir, "config.yaml"), "doctor"]]);
    // Secrets never reach the output.
    const printed = out.join("\n");
    expect(printed).not.toContain(pat);
    expect(printed).not.toContain(readFileSync(join(dir, "webhook-secret"), "utf8").trim());
    expect(printed).toContain(`wrote ${join(dir, "config.yaml")} (mode 0640`);
  });

  it("never replaces an existing config without --force, and replaces config and secrets with it", async () => {
    preseed();
    writeFileSync(join(dir, "config.yaml"), "# mine\n");
    await expect(runInit(options(), deps())).rejects.toThrow(new UsageError(`init: ${join(dir, "config.yaml")} exists; runnerd init replaces it (and the secret files it writes) only with --force. Check it with: runnerd config check`));
    expect(readFileSync(join(dir, "config.yaml"), "utf8")).toBe("# mine\n");
    expect(existsSync(join(dir, "github-pat"))).toBe(false);
    await runInit(options({ force: true }), deps());
    expect(loadConfig(join(dir, "config.yaml")).pools[0]?.name).toBe("web");
    // A second forced run replaces the secret files too.
    await runInit(options({ force: true }), deps({ env: { RUNNERD_TEST_PAT: pat.replace("0123", "9999") } }));
    expect(readFileSync(join(dir, "github-pat"), "utf8")).toContain("ghp_9999");
  });

  it("refuses a secret file already there without --force, before writing anything", async () => {
    preseed();
    writeFileSync(join(dir, "github-pat"), "old\n", { mode: 0o600 });
    await expect(runInit(options(), deps())).rejects.toThrow(`github.main.auth.token_file: ${join(dir, "github-pat")} exists; runnerd init replaces it only with --force`);
    expect(existsSync(join(dir, "config.yaml"))).toBe(false);
  });

  it("keeps a secret file it is not given a value for, if runnerd would accept it", async () => {
    preseed();
    writeFileSync(join(dir, "preseed.yaml"), readFileSync(join(dir, "preseed.yaml"), "utf8").replace("  token_env: RUNNERD_TEST_PAT\n", ""));
    writeFileSync(join(dir, "github-pat"), `${pat}\n`, { mode: 0o644 });
    await expect(runInit(options(), deps())).rejects.toThrow(`github.main.auth.token_file: ${join(dir, "github-pat")} has mode 0644, so other users can read or change it; run: chmod 600`);
    chmodSync(join(dir, "github-pat"), 0o600);
    await runInit(options(), deps());
    expect(loadConfig(join(dir, "config.yaml")).github.main?.auth.type).toBe("pat");
  });

  it("--dry-run prints the config and writes nothing; a bad token is refused before anything is written", async () => {
    preseed();
    await runInit(options({ dryRun: true }), deps());
    expect(out[0]).toContain("token_file:");
    expect(out.join("\n")).toContain(`would write ${join(dir, "github-pat")} (0600`);
    expect(existsSync(join(dir, "config.yaml"))).toBe(false);
    await expect(runInit(options(), deps({ env: { RUNNERD_TEST_PAT: "not a token" } }))).rejects.toThrow(/does not hold a GitHub token/);
    expect(existsSync(join(dir, "config.yaml")) || existsSync(join(dir, "github-pat"))).toBe(false);
  });

  it("says where in the preseed a value the config refuses came from", async () => {
    preseed("  max_runners: 0\n");
    const err = await runInit(options(), deps()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(`init: the configuration from ${join(dir, "preseed.yaml")} would not load, nothing written:\n${join(dir, "preseed.yaml")}:9:16: settings.max_runners: Too small: expected number to be >=1 (config: max_runners)`);
  });

  it("checks the storage pool against the backend, and creates one only when asked", async () => {
    preseed("lxd:\n  storage_pool: fast\n");
    await expect(runInit(options(), deps())).rejects.toThrow("lxd.storage_pool: fast does not exist (there are: runners (btrfs)); add lxd.create_storage_pool to create it");
    preseed();
    await expect(runInit(options(), deps({ findBackend: async () => backend([{ name: "default", driver: "dir" }]) }))).rejects.toThrow("lxd.storage_pool: required: no btrfs or zfs pool to pick from (there are: default (dir))");
  });

  it("asks on a terminal, shows the config, and writes it when told to", async () => {
    const script = ["", "acme/web", "", "docker, gpu", "2", "4", "no", "", "push", "ssh", "", "no", "no", "yes", "no"];
    const asked: string[] = [];
    const prompter: Prompter = {
      line: async (q) => (asked.push(q), script.shift() ?? "EOF"),
      secret: async () => "",
      say: (text) => out.push(text),
      close: () => undefined,
    };
    await runInit(options({ preseed: undefined }), deps({ prompter: () => prompter }));
    expect(script).toEqual([]);
    const config = loadConfig(join(dir, "config.yaml"));
    expect(config.pools[0]).toMatchObject({ name: "web", labels: ["docker", "gpu"], runners: { floor: 2, ceiling: 4 }, image: "runnerd/default" });
    expect(config.github.main?.auth).toMatchObject({ type: "push", ssh_keys: { renewer: ["repo:acme/web"] } });
    expect(asked[0]).toBe("Storage pool for runners' disks [runners]: ");
    expect(out.join("\n")).toContain("# ---- .github/workflows/renew-runner-token-repo-acme-web.yml (repo:acme/web, via ssh) ----");
  });

  it("refuses to ask without a terminal", async () => {
    await expect(runInit(options({ preseed: undefined }), deps())).rejects.toThrow("init: stdin is not a terminal to ask on: give --preseed FILE (--preseed - reads it from stdin)");
  });
});
