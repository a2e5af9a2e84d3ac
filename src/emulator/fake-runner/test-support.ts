// Helpers for the fake runner's unit tests: run one of its scripts as a child process and watch
// its output. Not part of the build (tsconfig.build.json leaves out test-support.ts files).
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * busybox sh when installed (what the LXD images run), else the system sh. busybox sh runs its
 * own wget applet whatever PATH says, so FAKE_RUNNER_SHELL (e.g. /usr/bin/dash) lets a run use
 * the host's wget (GNU on a full distribution) instead.
 */
export function defaultRunnerShell(): string[] {
  const chosen = process.env.FAKE_RUNNER_SHELL;
  if (chosen !== undefined && chosen !== "") return chosen.split(" ");
  return existsSync("/bin/busybox") ? ["/bin/busybox", "sh"] : ["/bin/sh"];
}

export interface RunScriptOptions {
  env?: Record<string, string | undefined>;
  /** Run as this uid/gid through setpriv (the caller must be root). */
  user?: { uid: number; gid: number };
  shell?: string[];
}

export interface RunningScript {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the first output match; rejects if the script exits or time runs out first. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  kill(signal?: NodeJS.Signals): void;
}

export type FakeRunnerScript = "config.sh" | "run.sh" | "bin/Runner.Listener" | "bin/installdependencies.sh";

export function runFakeRunnerScript(root: string, script: FakeRunnerScript, args: string[], opts: RunScriptOptions = {}): RunningScript {
  const shell = opts.shell ?? defaultRunnerShell();
  const command = [...shell, join(root, script), ...args];
  const full = opts.user === undefined ? command
    : ["setpriv", `--reuid=${opts.user.uid}`, `--regid=${opts.user.gid}`, "--clear-groups", ...command];
  const [file, ...rest] = full as [string, ...string[]];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root, TMPDIR: "/tmp", ...opts.env })) {
    if (v !== undefined) env[k] = v;
  }
  const child = spawn(file, rest, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const watchers = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    out += chunk.toString("utf8");
    for (const w of watchers) w();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => {
    child.on("close", (code, signal) => {
      done = true;
      resolve({ code, signal, output: out });
      for (const w of watchers) w();
    });
  });

  return {
    child,
    output: () => out,
    exited,
    kill: (signal = "SIGTERM") => {
      child.kill(signal);
    },
    waitForOutput(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = pattern.exec(out);
          if (m !== null) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`${script} exited before printing ${String(pattern)}; output:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${script} did not print ${String(pattern)} within ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
  };
}
