// Collect: copy a finished runner's result and logs to the host, then delete its instance.
// Every step tolerates an instance that is already half gone; deleting twice is fine.
import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { describeError } from "../errors.js";
import { paths } from "./ownership.js";
import type { LxdPort } from "./ports.js";
import { readAgentResult, type AgentResult, type RunnerOutcome } from "./runner-record.js";

export interface Collected {
  result: AgentResult | null;
  outcome: RunnerOutcome;
  detail?: string;
  logFiles: string[];
}

export async function collectRunner(lxd: LxdPort, name: string, logsDir: string, forceStop: boolean): Promise<Collected> {
  if (forceStop) await lxd.stopInstance(name, { force: true, timeoutSeconds: 30 });
  const pullErrors: string[] = [];
  const rawResult = await pullPatiently(lxd, name, paths.result, pullErrors);
  const { result, outcome, detail: resultDetail } = readAgentResult(rawResult);
  const detail = pullErrors.length > 0 ? `reading result.json failed: ${pullErrors.join("; ")}` : resultDetail;
  const logFiles = await saveLogs(lxd, name, join(logsDir, name), rawResult);
  await deleteInstance(lxd, name);
  const collected: Collected = { result, outcome, logFiles };
  if (detail) collected.detail = detail;
  return collected;
}

/**
 * Reads a file from a stopped instance. Missing is an answer (null); an error is not — LXD
 * refuses file access for a moment while it finishes a stop — so errors are retried a few times.
 */
async function pullPatiently(lxd: LxdPort, name: string, path: string, errors: string[] = []): Promise<Buffer | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await lxd.pullFile(name, path);
    } catch (err) {
      if (attempt >= 4) {
        errors.push(describeError(err));
        return null;
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

/** Stops (if needed) and deletes; an instance that is already gone counts as deleted. */
export async function deleteInstance(lxd: LxdPort, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await lxd.deleteInstance(name);
      return;
    } catch (err) {
      // Most likely still running, or busy powering itself off: stop it and try again.
      if (attempt >= 6) throw err;
      await lxd.stopInstance(name, { force: true, timeoutSeconds: 30 }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function saveLogs(lxd: LxdPort, name: string, dir: string, rawResult: Buffer | null): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const saved: string[] = [];
  const save = async (file: string, content: Buffer | null) => {
    if (!content) return;
    await writeFile(join(dir, file), content, { mode: 0o640 });
    saved.push(file);
  };
  await save("result.json", rawResult);
  const archive = await pullPatiently(lxd, name, paths.logArchive);
  if (archive) {
    await save(basename(paths.logArchive), archive);
    return saved;
  }
  // The agent did not get as far as bundling its logs: take whatever loose logs there are.
  for (const path of paths.logs) await save(basename(path), await lxd.pullFile(name, path).catch(() => null));
  return saved;
}
