// The agent's supervision of the listener, against a stub bin/Runner.Listener that plays a planned
// sequence of runs (output and exit code each): which exits restart it, how often, and what
// result.json says. The agent with the real fake runner and the emulator: emulator/agent-supervision.test.ts.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agentScriptPath } from "./index.js";

const canRun = process.getuid?.() === 0 && existsSync("/usr/sbin/runuser");
const shells = [["/bin/busybox", "sh"], ["/usr/bin/dash"]].filter(([sh]) => existsSync(sh ?? ""));

// One run per line: CODE|ACTION|OUTPUT, OUTPUT with \n escapes (printf %b); ACTION `touch` stands in
// for the update script, touching update.finished. The last line repeats once the plan runs out.
const STUB = `#!/bin/sh
dir=$(cd "$(dirname "$0")/.." && pwd)
n=$(cat "$dir/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$dir/count"
env >"$dir/env.$n"
echo "$*" >"$dir/args.$n"
line=$(sed -n "\${n}p" "$dir/plan")
[ -n "$line" ] || line=$(tail -n 1 "$dir/plan")
code=\${line%%|*}
rest=\${line#*|}
action=\${rest%%|*}
[ "$action" = touch ] && touch update.finished
printf '%b\\n' "\${rest#*|}"
exit "$code"
`;

const listening = "Current runner version: '2.330.0'\\n2026-01-01 00:00:00Z: Listening for Jobs";
const job = "2026-01-01 00:00:01Z: Running job: build\\n2026-01-01 00:00:02Z: Job build completed with result: Succeeded";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "agent-test-"));
  mkdirSync(join(dir, "runner", "bin"), { recursive: true });
  writeFileSync(join(dir, "runner", "bin", "Runner.Listener"), STUB, { mode: 0o755 });
  chmodSync(dir, 0o755);
  chmodSync(join(dir, "runner"), 0o777);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface AgentRun {
  result: Record<string, unknown>;
  runs: number;
  env(run: number): string;
  log: string;
}

function runAgent(plan: string[], opts: { shell?: string[]; token?: boolean; updateWait?: number; user?: string } = {}): AgentRun {
  writeFileSync(join(dir, "runner", "plan"), `${plan.join("\n")}\n`);
  const credential = opts.token === true ? '  "token": "AAAA",\n  "jitconfig": "",' : '  "token": "",\n  "jitconfig": "eyJqaXQiOjF9",';
  writeFileSync(join(dir, "runner.json"), `{\n  "url": "https://github.com/octo/app",\n  "name": "rt-a-1",\n  "labels": "",\n${credential}\n  "work_folder": "_work"\n}\n`, { mode: 0o600 });
  const [shell, ...shellArgs] = opts.shell ?? shells[0] ?? ["/bin/sh"];
  const child = spawnSync(shell ?? "/bin/sh", [...shellArgs, agentScriptPath()], {
    env: {
      RUNNERD_CONF: join(dir, "runner.json"), RUNNERD_VAR: join(dir, "var"), RUNNERD_RUNNER_DIR: join(dir, "runner"), RUNNERD_RUNNER_USER: opts.user ?? "nobody",
      RUNNERD_POWEROFF: "0", RUNNERD_RETRY_PAUSE: "0", RUNNERD_UPDATE_WAIT: String(opts.updateWait ?? 5),
    },
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(child.status, child.stderr).toBe(0);
  const countFile = join(dir, "runner", "count");
  const count = existsSync(countFile) ? Number(readFileSync(countFile, "utf8")) : 0;
  return {
    result: JSON.parse(readFileSync(join(dir, "var", "result.json"), "utf8")) as Record<string, unknown>,
    runs: count,
    env: (run) => readFileSync(join(dir, "runner", `env.${run}`), "utf8"),
    log: readFileSync(join(dir, "var", "agent.log"), "utf8"),
  };
}

describe.runIf(canRun)("agent supervising the listener", () => {
  it.each(shells)("starts the listener again after a self-update (exit 4, update.finished), so the job runs there (%s)", (...shell: string[]) => {
    const run = runAgent([`4|touch|${listening}\\nRunner update in progress, do not shutdown runner.`, `0|-|Current runner version: '2.331.0'\\nListening for Jobs\\n${job}`], { shell });
    expect(run.runs).toBe(2);
    expect(run.result).toMatchObject({ end: "job-done", outcome: "succeeded", exit_code: 0, updates: 1, retries: 0, refreshes: 0, runner_version: "2.331.0", job_seen: true, job_name: "build", job_result: "Succeeded", error: "" });
    expect(typeof run.result.listening_at).toBe("number");
    // The JIT config to the first listener only (it leaves the files it holds in the runner root,
    // which the updated listener runs from); the listener run directly, asked for exit code 7.
    expect(run.env(1)).toContain("ACTIONS_RUNNER_INPUT_JITCONFIG=eyJqaXQiOjF9");
    expect(run.env(2)).not.toContain("eyJqaXQiOjF9");
    for (const n of [1, 2]) {
      expect(run.env(n)).toContain("ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1");
      expect(readFileSync(join(dir, "runner", `args.${n}`), "utf8")).toBe("run\n");
    }
    expect(existsSync(join(dir, "runner.json"))).toBe(false);
    expect(existsSync(join(dir, "runner", "update.finished"))).toBe(false);
    expect(run.log).toContain("the self-update finished after");
  });

  it("starts the updated listener after waiting when update.finished never comes (3, not ephemeral)", () => {
    const run = runAgent([`3|-|${listening}`, `0|-|${listening}`], { updateWait: 1 });
    expect(run.result).toMatchObject({ end: "no-job", outcome: "no-job", updates: 1 });
    expect(run.log).toContain("no update.finished after 1s");
  });

  it("pauses and restarts after retryable errors (2), and after a configuration refresh (6)", () => {
    const run = runAgent([`2|-|${listening}\\nAn error occurred: boom`, "2|-|", `6|-|${listening}`, `0|-|${listening}\\n${job}`]);
    expect(run.runs).toBe(4);
    expect(run.result).toMatchObject({ end: "job-done", outcome: "succeeded", retries: 2, refreshes: 1, updates: 0 });
  });

  it.each([
    ["2", 6, { retries: 6 }],
    ["4", 4, { updates: 4 }],
    ["6", 6, { refreshes: 6 }],
  ])("gives up when the listener keeps exiting %s", (code, runs, counts) => {
    const run = runAgent([`${code}|touch|${listening}`]);
    expect(run.runs).toBe(runs);
    expect(run.result).toMatchObject({ end: "restart-limit", outcome: "failed", exit_code: Number(code), ...counts });
    expect(run.result.error).toMatch(/too often/);
  });

  it("never restarts a listener that ran its job", () => {
    const run = runAgent([`2|-|${listening}\\n${job}`, `0|-|${listening}`]);
    expect(run.runs).toBe(1);
    expect(run.result).toMatchObject({ end: "failed", outcome: "failed", exit_code: 2, job_seen: true, error: "runner exited with 2 after its job" });
  });

  it.each([
    ["7", `${listening}\\nAn error occurred: Runner version v2.333.0 is deprecated and cannot receive messages.`, "Runner version v2.333.0 is deprecated and cannot receive messages. (exit 7)"],
    ["1", `${listening}\\nAn error occured: Runner version v2.330.0 is deprecated and cannot receive messages.`, "Runner version v2.330.0 is deprecated and cannot receive messages. (exit 1)"],
    ["7", listening, "Runner version v2.330.0 is deprecated. (exit 7)"],
    ["7", "", "Runner version is deprecated. (exit 7)"],
  ])("ends as deprecated on exit %s", (code, output, error) => {
    const run = runAgent([`${code}|-|${output}`]);
    expect(run.runs).toBe(1);
    expect(run.result).toMatchObject({ end: "deprecated", outcome: "runner-deprecated", exit_code: Number(code), error });
  });

  it.each([
    ["5", "A session for this runner already exists.", { end: "session-conflict", outcome: "failed", error: "another listener holds this runner's session (exit 5)" }],
    ["0", `${listening}\\nThe runner no longer exists on the server. Cleaning up local configuration.`, { end: "registration-deleted", outcome: "no-job" }],
    ["1", `${listening}\\nAn error occurred: something else`, { end: "failed", outcome: "failed", error: "runner exited with 1" }],
    ["42", "", { end: "failed", outcome: "failed", error: "runner exited with 42" }],
  ])("ends on exit %s without a restart", (code, output, expected) => {
    const run = runAgent([`${code}|-|${output}`, `0|-|${listening}\\n${job}`]);
    expect(run.runs).toBe(1);
    expect(run.result).toMatchObject({ exit_code: Number(code), updates: 0, retries: 0, ...expected });
  });

  it("writes valid JSON whatever the runner prints: tabs escaped, other control characters dropped", () => {
    const run = runAgent([`0|-|${listening}\\nRunning job: a\\tb "q" \\\\ \\001\\033[1mz\\nJob x completed with result: Succeeded`]);
    expect(run.result).toMatchObject({ end: "job-done", job_name: 'a\tb "q" \\ [1mz' });
  });

  it("records config.sh failing as config-failed", () => {
    writeFileSync(join(dir, "runner", "config.sh"), "#!/bin/sh\necho refused\nexit 3\n", { mode: 0o755 });
    const run = runAgent([`0|-|${listening}`], { token: true });
    expect(run.runs).toBe(0);
    expect(run.result).toMatchObject({ end: "config-failed", outcome: "config-failed", exit_code: 3, error: "config.sh exited with 3" });
  });

  it.each(shells)("push mode: the token only in config.sh's environment, runner.json gone before it runs (%s)", (...shell: string[]) => {
    writeFileSync(join(dir, "runner", "config.sh"), `#!/bin/sh\nenv >"${dir}/runner/config-env"\necho "$*" >"${dir}/runner/config-args"\n[ -e "$RUNNERD_CONF" ] && : >"${dir}/runner/conf-present"\nexit 0\n`, { mode: 0o755 });
    const run = runAgent([`0|-|${listening}\\n${job}`], { shell, token: true });
    expect(run.result).toMatchObject({ end: "job-done", outcome: "succeeded" });
    expect(readFileSync(join(dir, "runner", "config-env"), "utf8")).toContain("ACTIONS_RUNNER_INPUT_TOKEN=AAAA");
    expect(readFileSync(join(dir, "runner", "config-args"), "utf8")).not.toContain("AAAA");
    expect(existsSync(join(dir, "runner", "conf-present"))).toBe(false);
    expect(run.env(1)).not.toContain("AAAA");
    expect(existsSync(join(dir, "runner.json"))).toBe(false);
  });

  it.each([
    ["a user that does not exist", { user: "no-such-user" }, "no user no-such-user in the image"],
    ["config.sh failing", { token: true }, "config.sh exited with 3"],
  ])("deletes runner.json on every path: %s", (_what, opts, error) => {
    writeFileSync(join(dir, "runner", "config.sh"), "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    const run = runAgent([`0|-|${listening}`], opts);
    expect(run.result.error).toBe(error);
    expect(run.runs).toBe(0);
    expect(existsSync(join(dir, "runner.json"))).toBe(false);
  });

  it.each([
    ["its boot marker", false],
    ["result.json alone (the first boot was an older agent)", true],
  ])("booted a second time (found by %s): powers off and leaves the first boot's result, status and logs alone", (_what, dropMarker) => {
    const first = runAgent([`0|-|${listening}\\n${job}`]);
    expect(first.result).toMatchObject({ end: "job-done" });
    const files = ["result.json", "status", "agent.log", "runner.log", "logs.tar.gz"];
    const before = files.map((f) => readFileSync(join(dir, "var", f)));
    if (dropMarker) rmSync(join(dir, "var", ".booted"));
    writeFileSync(join(dir, "runner.json"), "{}\n", { mode: 0o600 });
    const again = spawnSync(shells[0]?.[0] ?? "/bin/sh", [...(shells[0]?.slice(1) ?? []), agentScriptPath()], {
      env: { RUNNERD_CONF: join(dir, "runner.json"), RUNNERD_VAR: join(dir, "var"), RUNNERD_RUNNER_DIR: join(dir, "runner"), RUNNERD_RUNNER_USER: "nobody", RUNNERD_POWEROFF: "0" },
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("has booted before");
    expect(Number(readFileSync(join(dir, "runner", "count"), "utf8"))).toBe(1);
    files.forEach((f, i) => expect(readFileSync(join(dir, "var", f)), f).toEqual(before[i]));
    // A leftover runner.json is a secret nothing will use: it goes too.
    expect(existsSync(join(dir, "runner.json"))).toBe(false);
  });
});
