// `runnerd token set` as the SSH forced command, run in-process: whatever the client sends, no
// part of it comes back on stdout or stderr (the workflow prints both in its log), and an expiry
// beyond a registration token's life is cut to it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { openStore } from "../store/index.js";
import { main } from "./main.js";

const marker = "MARKER7f3a9c";
let dir = "";
let configPath = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "runnerd-token-cli-"));
  configPath = join(dir, "config.yaml");
  writeFileSync(
    configPath,
    `state_dir: ${join(dir, "state")}\ngithub:\n  main:\n    auth:\n      type: push\n      ssh_keys:\n        renewer: [repo:acme/web]\npools:\n  - { name: web, scope: { repo: acme/web }, image: x }\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** Runs `runnerd token set --ssh-key renewer` with `input` on stdin; what it printed and its exit code. */
async function sshPush(input: string, command = "repo:acme/web") {
  vi.stubEnv("SSH_ORIGINAL_COMMAND", command);
  vi.stubEnv("SSH_CONNECTION", "203.0.113.7 50022 192.0.2.1 22");
  const stdin = Object.assign(Readable.from([Buffer.from(input)]), { isTTY: false });
  vi.spyOn(process, "stdin", "get").mockReturnValue(stdin as unknown as typeof process.stdin);
  const output: string[] = [];
  const record = (...args: unknown[]) => void output.push(args.map(String).join(" "));
  vi.spyOn(console, "log").mockImplementation(record);
  vi.spyOn(console, "error").mockImplementation(record);
  let code = 0;
  vi.spyOn(process, "exit").mockImplementation((c?: string | number | null) => {
    code = Number(c ?? 0);
    throw new Error("exit");
  });
  await main(["node", "runnerd", "--config", configPath, "token", "set", "--ssh-key", "renewer"]).catch((err: unknown) => {
    if (!(err instanceof Error && err.message === "exit")) throw err;
  });
  return { code, output: output.join("\n") };
}

describe("runnerd token set --ssh-key", () => {
  it.each([
    ["JSON with a syntax error", `{"token": "${marker}1234", "expires_at": ${marker}}`],
    ["JSON cut short", `{"token": "${marker}1234", "expires`],
    ["an expiry that is no date", `{"token": "AABBCCDDEEFF0011", "expires_at": "${marker}"}`],
    ["a malformed token", `{"token": "${marker} with spaces", "expires_at": "2099-01-01T00:00:00Z"}`],
    ["words that are no token", `${marker} is not a token`],
  ])("refuses %s without quoting it", async (_name, input) => {
    const { code, output } = await sshPush(input);
    expect(code).toBe(2);
    expect(output).toMatch(/^runnerd: token set: /);
    expect(output).not.toContain(marker);
  });

  it.each([`repo:acme/web ${marker}`, `token set repo:${marker}/$(id)`, `${marker};id`])("refuses the ssh command %j without quoting it", async (command) => {
    const { code, output } = await sshPush('{"token":"AABBCCDDEEFF0011","expires_at":"2099-01-01T00:00:00Z"}', command);
    expect(code).toBe(2);
    expect(output).not.toContain(marker);
  });

  it("stores an expiry far ahead as an hour and the clock margin from now, and says so", async () => {
    const before = Date.now();
    const { code, output } = await sshPush('{"token":"AABBCCDDEEFF0011","expires_at":"2999-01-01T00:00:00Z"}');
    expect(code).toBe(0);
    expect(output).toMatch(/expires_at was more than an hour ahead/);
    const store = openStore(join(dir, "state"));
    const stored = store.getToken("repo:acme/web");
    store.close();
    expect(stored?.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 65 * 60_000);
    expect(stored?.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 65 * 60_000);
  });
});
