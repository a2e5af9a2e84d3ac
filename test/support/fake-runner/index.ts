// Test helpers to install the fake runner into a directory and run its scripts as a child process.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, cp, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The scripts' folder; compiled into dist/, this module still points at the sources beside src/. */
export const FAKE_RUNNER_DIR = fakeRunnerDir();

function fakeRunnerDir(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  if (existsSync(join(here, "config.sh"))) return here;
  const source = here.replace(/\/dist\/test\/support\/fake-runner\/$/, "/test/support/fake-runner/");
  if (existsSync(join(source, "config.sh"))) return source;
  throw new Error(`cannot find the fake runner's scripts next to ${here}`);
}

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

/** Copies config.sh, run.sh, env.sh, bin/ and VERSION (not the TypeScript), modes kept, into `root`. */
export async function installFakeRunner(root: string, owner?: { uid: number; gid: number }): Promise<void> {
  await cp(FAKE_RUNNER_DIR, root, { recursive: true, filter: (src) => !src.endsWith(".ts") });
  if (owner !== undefined) await chownTree(root, owner.uid, owner.gid);
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, uid, gid);
    else await chown(child, uid, gid);
  }
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

export type FakeRunnerScript = "config.sh" | "run.sh" | "bin/installdependencies.sh";

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
