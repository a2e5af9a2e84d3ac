// Collect: copy a finished runner's result and logs to the host, then delete its instance.
// Every step tolerates an instance that is already half gone; deleting twice is fine.
import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
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
  const rawResult = await lxd.pullFile(name, paths.result).catch(() => null);
  const { result, outcome, detail } = readAgentResult(rawResult);
  const logFiles = await saveLogs(lxd, name, join(logsDir, name), rawResult);
  await deleteRunner(lxd, name);
  const collected: Collected = { result, outcome, logFiles };
  if (detail) collected.detail = detail;
  return collected;
}

/** Stops (if needed) and deletes; an instance that is already gone counts as deleted. */
export async function deleteRunner(lxd: LxdPort, name: string): Promise<void> {
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
  for (const path of paths.logs) await save(basename(path), await lxd.pullFile(name, path).catch(() => null));
  const diag = await lxd.listDirectory(name, paths.diagDir).catch(() => null);
  for (const entry of diag ?? []) {
    if (entry.includes("/") || entry.startsWith(".")) continue;
    await save(`diag-${entry}`, await lxd.pullFile(name, `${paths.diagDir}/${entry}`).catch(() => null));
  }
  return saved;
}
