// Bad-input corpus (issue 12), the command line run in-process through main(): arguments the
// operator mistypes, and the SSH forced command `token set --ssh-key NAME`, whose command
// (SSH_ORIGINAL_COMMAND) and stdin come from outside. Every row is refused with a message saying
// what was wrong, and the state dir (store and its tokens) and the config file stay byte for byte
// as they were. SSH refusals never quote what the client sent (README: "What a refusal says").
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { openStore } from "../../src/store/index.js";
import { MARKER, removeTempDirs, snapshotDir, tempDir } from "./bad-input-support.js";

let dir = "";
let configPath = "";
const seededToken = "SEEDEDTOKEN0123456789";

beforeAll(() => {
  dir = tempDir("cli");
  configPath = join(dir, "config.yaml");
  writeFileSync(
    configPath,
    `state_dir: ${join(dir, "state")}
github:
  main:
    auth:
      type: push
      ssh_keys:
        renewer: [repo:acme/web]
      oidc: { audience: runnerd, allow: [{ repository: acme/infra, workflow_ref: acme/infra/.github/workflows/renew.yml@refs/heads/main, scopes: [repo:acme/web] }] }
pools:
  - { name: web, scope: { repo: acme/web }, image: x }
  - { name: org, scope: { org: acme }, image: x }
`,
  );
  writeFileSync(join(dir, "broken.yaml"), `max_runners: 0\n${readFileSync(configPath, "utf8")}`);
  const store = openStore(join(dir, "state"));
  store.setToken("repo:acme/web", seededToken, new Date(Date.now() + 30 * 60_000), "cli");
  store.addEvent({ level: "info", kind: "token-set", message: "seeded" });
  store.close();
});
afterAll(removeTempDirs);
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** Runs `runnerd ARGS` with `stdin` and `env`; what it printed (stdout and stderr) and its exit code. */
async function run(args: string[], stdin = "", env: Record<string, string | undefined> = {}) {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const input = Object.assign(Readable.from([Buffer.from(stdin)]), { isTTY: false });
  vi.spyOn(process, "stdin", "get").mockReturnValue(input as unknown as typeof process.stdin);
  const output: string[] = [];
  const record = (...parts: unknown[]) => void output.push(parts.map(String).join(" "));
  vi.spyOn(console, "log").mockImplementation(record);
  vi.spyOn(console, "error").mockImplementation(record);
  const write = (chunk: unknown) => (record(chunk), true);
  vi.spyOn(process.stdout, "write").mockImplementation(write);
  vi.spyOn(process.stderr, "write").mockImplementation(write);
  let code: number | undefined;
  vi.spyOn(process, "exit").mockImplementation((c?: string | number | null) => {
    code = Number(c ?? 0);
    throw new Error("exit");
  });
  await main(["node", "runnerd", ...args.map((arg) => arg.replace(/^@\//, `${dir}/`))]).catch((err: unknown) => {
    if (!(err instanceof Error && err.message === "exit")) throw err;
  });
  return { code: code ?? 0, output: output.join("\n") };
}

/** Runs a row and checks that it changed nothing on disk; returns what it printed and its exit code. */
async function refused(args: string[], stdin?: string, env?: Record<string, string | undefined>) {
  const before = snapshotDir(dir);
  const result = await run(args, stdin, env);
  expect(snapshotDir(dir)).toEqual(before);
  const store = openStore(join(dir, "state"));
  expect(store.getToken("repo:acme/web")?.token).toBe(seededToken);
  expect(store.listTokens()).toHaveLength(1);
  store.close();
  return result;
}

/** Rows are built before the directory exists: `@/` in an argument stands for it. */
const withConfig = (...args: string[]) => ["--config", "@/config.yaml", ...args];

// Refused by commander itself: unknown commands and options, missing or invalid values.
const commanderRows: [string, string[], RegExp][] = [
  ["an unknown command", withConfig("frobnicate"), /error: unknown command 'frobnicate'/],
  ["an unknown option", withConfig("jobs", "--bogus"), /error: unknown option '--bogus'/],
  ["a misspelt global option", ["--confg", "@/config.yaml", "status"], /error: unknown option '--confg'/],
  ["an option without its value", withConfig("jobs", "--limit"), /error: option '--limit <n>' argument missing/],
  ["--ssh-key without a key name", withConfig("token", "set", "--ssh-key"), /error: option '--ssh-key <name>' argument missing/],
  ["a missing argument", withConfig("logs"), /error: missing required argument 'runner'/],
  ["a missing mandatory option", withConfig("workflow", "print", "--scope", "repo:acme/web"), /error: required option '--via <how>' not specified/],
  ["a value outside the choices", withConfig("workflow", "print", "--scope", "repo:acme/web", "--via", "ftp"), /error: option '--via <how>' argument 'ftp' is invalid\. Allowed choices are oidc, ssh\./],
  ["an extra argument", withConfig("token", "show", "extra"), /error: too many arguments for 'show'\. Expected 0 arguments but got 1\./],
];

// Refused by runnerd's own checks of values (UsageError or ConfigError: exit 2).
const valueRows: [string, string[], RegExp][] = [
  ["--limit 0", withConfig("jobs", "--limit", "0"), /^runnerd: jobs: --limit must be a whole number of at least 1, not "0"$/],
  ["a fractional --limit", withConfig("jobs", "--limit", "2.5"), /--limit must be a whole number/],
  ["a --limit in words", withConfig("jobs", "--limit", "many"), /--limit must be a whole number/],
  ["--since in words", withConfig("jobs", "--since", "5 minutes"), /^runnerd: jobs: --since must be a duration such as 30m, 2h or 7d, not "5 minutes"$/],
  ["a negative --since", withConfig("jobs", "--since", "-5m"), /--since must be a duration/],
  ["a --status with a space", withConfig("jobs", "--status", "in progress"), /^runnerd: jobs: --status must be queued, waiting, in_progress, completed or a conclusion/],
  ["--interval under 500ms", withConfig("status", "--watch", "--interval", "100ms"), /^runnerd: status: --interval must be a duration of at least 500ms/],
  ["--watch with --json", withConfig("status", "--watch", "--json"), /^runnerd: status: --watch redraws a terminal view; it does not go with --json$/],
  ["a runner name that is a path", withConfig("logs", "../../etc/passwd"), /^runnerd: logs: no runner named \.\.\/\.\.\/etc\/passwd/],
  ["an unknown --file", withConfig("logs", "rd-web-abcdefgh", "--file", "passwd"), /^runnerd: logs: --file must be one of agent, runner, diag, result, not "passwd"$/],
  ["token set with a scope and --ssh-key", withConfig("token", "set", "repo:acme/web", "--ssh-key", "renewer"), /give either SCOPE or --ssh-key, not both/],
  ["token set without a scope", withConfig("token", "set"), /^runnerd: token set: missing SCOPE/],
  ["token set for a scope no pool uses", withConfig("token", "set", "repo:acme/other"), /^runnerd: token set: scope repo:acme\/other is not used by any pool in .*config\.yaml \(configured: repo:acme\/web, org:acme\)$/],
  ["token set for a malformed scope", withConfig("token", "set", "acme web"), /^runnerd: invalid scope "acme web": expected repo:owner\/name, org:name or owner\/name$/],
  ["workflow print for a scope no pool uses", withConfig("workflow", "print", "--scope", "repo:acme/other", "--via", "oidc"), /^runnerd: workflow print: scope repo:acme\/other is not used by any pool/],
  ["workflow print to an http:// URL", withConfig("workflow", "print", "--scope", "repo:acme/web", "--via", "oidc", "--url", "http://ci.example.com/runnerd"), /--url must be https:\/\//],
  ["workflow print --url with --via ssh", withConfig("workflow", "print", "--scope", "repo:acme/web", "--via", "ssh", "--url", "https://ci.example.com"), /--url goes with --via oidc/],
  ["workflow print with an unknown ssh key", withConfig("workflow", "print", "--scope", "repo:acme/web", "--via", "ssh", "--ssh-key-name", "stranger"), /ssh key "stranger" is not configured under github\.main\.auth\.ssh_keys/],
  ["config check of a broken file", withConfig("config", "check", "@/broken.yaml"), /^runnerd: \S+\/broken\.yaml:1:14: max_runners: Too small: expected number to be >=1$/m],
  ["a config file that does not exist", ["--config", "@/missing.yaml", "token", "show"], /^runnerd: \S+\/missing\.yaml: cannot read config file: ENOENT/],
];

describe("bad-input corpus: command-line arguments", () => {
  it.each(commanderRows)("refuses %s, saying what is wrong, and changes nothing", async (_name, args, message) => {
    const { code, output } = await refused(args);
    expect(code).not.toBe(0);
    expect(output).toMatch(message);
  });

  // docs/threat-model.md: "a refused argument exits 2" (main() passed commander's 1 on until 2026-12-06).
  it("exits 2 for what commander refuses, as for every other refused argument", async () => {
    const codes = [];
    for (const [, args] of commanderRows) codes.push((await run(args)).code);
    expect(codes).toEqual(commanderRows.map(() => 2));
  });

  it.each(valueRows)("refuses %s with exit 2, saying what is wrong, and changes nothing", async (_name, args, message) => {
    const { code, output } = await refused(args);
    expect(code).toBe(2);
    expect(output).toMatch(message);
  });
});

const goodStdin = JSON.stringify({ token: "AABBCCDDEEFF0011", expires_at: new Date(Date.now() + 50 * 60_000).toISOString() });
const forcedCommand = (key = "renewer") => withConfig("token", "set", "--ssh-key", key);

// The SSH forced command: what the client asked to run, then what it piped in.
const sshRows: [string, string | undefined, string, RegExp, string?][] = [
  ["no command at all", undefined, goodStdin, /no SSH_ORIGINAL_COMMAND: the client must name the scope/],
  ["token set without a scope", "token set", goodStdin, /the ssh command must be SCOPE or "token set SCOPE"/],
  ["an scp upload", `scp -t /etc/runnerd/${MARKER}`, goodStdin, /the ssh command must be SCOPE/],
  ["an rsync server", `rsync --server -e.LsfxC . /var/lib/runnerd/${MARKER}`, goodStdin, /the ssh command must be SCOPE/],
  ["a shell", `sh -c 'cat /etc/${MARKER}'`, goodStdin, /the ssh command must be SCOPE/],
  ["the token where the scope goes", `AABBCC${MARKER}DDEEFF0011`, goodStdin, /invalid scope in the ssh command: expected repo:owner\/name, org:name or owner\/name/],
  ["a scope, a line break and a command", `repo:acme/web\n${MARKER}`, goodStdin, /the ssh command must be SCOPE/],
  ["a scope with a Cyrillic letter", "repo:acme/w\u0435b", goodStdin, /invalid scope in the ssh command/],
  ["a 64 KiB scope", `repo:acme/${MARKER}${"a".repeat(64 * 1024)}`, goodStdin, /invalid scope in the ssh command/],
  ["a scope a pool serves but the key may not push for", "org:acme", goodStdin, /^runnerd: ssh key "renewer" may not push tokens for org:acme \(allowed: repo:acme\/web\)$/],
  ["a scope no pool serves", "repo:acme/other", goodStdin, /ssh key "renewer" may not push tokens for repo:acme\/other/],
  ["a key name the config does not list", "repo:acme/web", goodStdin, /^runnerd: ssh key "stranger" is not configured/, "stranger"],
  ["nothing on stdin", "repo:acme/web", "", /^runnerd: token set: nothing on stdin/],
  ["more than 16 KiB on stdin", "repo:acme/web", `${MARKER}${"A".repeat(17 * 1024)}`, /^runnerd: token set: more than 16384 bytes on stdin$/],
  ["an expiry in the past", "repo:acme/web", JSON.stringify({ token: `AABB${MARKER}`, expires_at: "2020-01-01T00:00:00Z" }), /field expires_at in the JSON on stdin is not in the future/],
  ["a JSON list", "repo:acme/web", `["AABB${MARKER}"]`, /stdin is neither JSON nor a bare token/],
  ["binary bytes", "repo:acme/web", `\u0000\u0001${MARKER}\u00ff`, /stdin is neither JSON nor a bare token/],
  ["two tokens on two lines", "repo:acme/web", `AABB${MARKER}\nCCDD${MARKER}`, /stdin is neither JSON nor a bare token/],
  ["a token too short", "repo:acme/web", JSON.stringify({ token: "AABB", expires_at: new Date(Date.now() + 50 * 60_000).toISOString() }), /field token is missing or malformed in the JSON on stdin/],
];

describe("bad-input corpus: the SSH forced command", () => {
  it.each(sshRows)("refuses %s with exit 2, quoting none of it, and changes nothing", async (_name, command, stdin, message, key) => {
    const { code, output } = await refused(forcedCommand(key), stdin, { SSH_ORIGINAL_COMMAND: command, SSH_CONNECTION: "203.0.113.7 50022 192.0.2.1 22" });
    expect(code).toBe(2);
    expect(output).toMatch(/^runnerd: /);
    expect(output).toMatch(message);
    expect(output).not.toContain(MARKER);
    expect(output.toLowerCase()).not.toContain(MARKER.toLowerCase());
  });
});
