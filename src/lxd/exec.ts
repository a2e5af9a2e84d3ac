// Runs a command in an instance and collects its recorded output; meant for `doctor` and tests.
import { LxdError } from "../errors.js";
import { parseMetadata } from "./response.js";
import { waitForOperation } from "./operations.js";
import { execResultSchema } from "./schema.js";
import { instancePath } from "./instances.js";
import type { Transport } from "./transport.js";

export interface ExecOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Deadline for the command to finish. */
  timeoutMs?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * No websockets: LXD records stdout/stderr to log files and the finished operation names them.
 * LXD 5.0 puts them at `/logs/exec_<id>.stdout`, newer releases at `/logs/exec-output/...`,
 * so the paths are taken from the operation instead of built here.
 */
export async function execInstance(t: Transport, instance: string, command: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const what = `exec ${JSON.stringify(command[0] ?? "")} in instance ${instance}`;
  const body: Record<string, unknown> = {
    command,
    environment: opts.env ?? {},
    "wait-for-websocket": false,
    "record-output": true,
    interactive: false,
  };
  if (opts.cwd) body.cwd = opts.cwd;
  const res = await t.request("POST", `${instancePath(instance)}/exec`, { what, body });
  let done: unknown;
  try {
    done = res.kind === "async" ? await waitForOperation(t, res.operation, { what, timeoutMs: opts.timeoutMs }) : res.metadata;
  } catch (err) {
    // LXD reports exit code 127 as a failed operation, not as a result; callers want the code.
    if (err instanceof LxdError && /Command not found/.test(err.message)) return { exitCode: 127, stdout: "", stderr: err.message };
    throw err;
  }
  const result = parseMetadata(what, execResultSchema, done);
  const [stdout, stderr] = await Promise.all([readLog(t, what, result.output?.["1"]), readLog(t, what, result.output?.["2"])]);
  return { exitCode: result.return, stdout, stderr };
}

async function readLog(t: Transport, what: string, path: string | undefined): Promise<string> {
  if (!path) return "";
  const res = await t.requestRaw("GET", path, { what: `${what}: read output` });
  // The logs outlive the command; delete them so exec calls do not pile up files on the host.
  // Best effort: the output is already read, and a leftover log file is not worth failing for.
  await t.request("DELETE", path, { what: `${what}: delete output` }).catch(() => undefined);
  return res.body.toString("utf8");
}
