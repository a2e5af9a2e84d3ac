// Collect: copy a finished runner's result and logs to the host, then delete its instance.
// Every step tolerates an instance that is already half gone; deleting twice is fine.
import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { describeError, LxdError } from "../errors.js";
import { isDeadlineError, isUnreached } from "../lxd/index.js";
import { paths } from "./ownership.js";
import type { LxdPort } from "./ports.js";
import { collectReadBudgetMs, logArchiveRead, looseLogRead, resultRead, type ReadBounds } from "./read-limits.js";
import { readAgentResult, type AgentResult, type RunnerOutcome } from "./runner-record.js";

export interface Collected {
  result: AgentResult | null;
  outcome: RunnerOutcome;
  detail?: string;
  logFiles: string[];
}

export async function collectRunner(lxd: LxdPort, name: string, logsDir: string, forceStop: boolean): Promise<Collected> {
  if (forceStop) await lxd.stopInstance(name, { force: true, timeoutSeconds: 30 });
  // Reads made before LXD has run the stop hook of an instance that powered itself off race
  // that hook (in CI, on LXD 5.0.2 and on Incus 6.0.4, such reads hung ~30 s each); after it,
  // LXD mounts the stopped root file system afresh for each read.
  await lxd.waitForStopCleanup(name).catch(() => undefined);
  const reader = new InstanceReader(lxd, name, collectReadBudgetMs);
  const rawResult = await reader.read(paths.result, resultRead);
  const { result, outcome, detail: resultDetail } = readAgentResult(rawResult);
  const detail = reader.errors.length > 0 ? `reading result.json failed: ${reader.errors.join("; ")}` : resultDetail;
  const logFiles = await saveLogs(reader, join(logsDir, name), rawResult);
  await deleteInstance(lxd, name);
  const collected: Collected = { result, outcome, logFiles };
  if (detail) collected.detail = detail;
  return collected;
}

/**
 * Reads files from a stopped instance within one budget. Missing is an answer (null); a quick
 * error is retried (LXD refuses file access for a moment around a stop); a read that ran out of
 * time is not, and no later read is tried: what hung it (a FIFO the job left, say) still does.
 */
export class InstanceReader {
  readonly errors: string[] = [];
  private hung = false;
  private readonly deadline: number;

  constructor(
    private readonly lxd: LxdPort,
    private readonly name: string,
    budgetMs: number,
  ) {
    this.deadline = performance.now() + budgetMs;
  }

  async read(path: string, bounds: ReadBounds): Promise<Buffer | null> {
    for (let attempt = 1; ; attempt++) {
      const left = Math.floor(this.deadline - performance.now());
      if (this.hung || left <= 0) {
        this.errors.push(`${basename(path)} not read: ${this.hung ? "an earlier read hung" : "the read budget is spent"}`);
        return null;
      }
      try {
        return await this.lxd.pullFile(this.name, path, { timeoutMs: Math.min(bounds.timeoutMs, left), maxBytes: bounds.maxBytes });
      } catch (err) {
        if (isDeadlineError(err)) this.hung = true;
        // LXD not reached (restarting, or runnerd shutting down): no answer about the file at
        // all, so give the collection up; the instance stays and a later pass collects it.
        else if (isUnreached(err)) throw err;
        const tooLarge = err instanceof LxdError && err.status === 413;
        if (this.hung || tooLarge || attempt >= 3) {
          this.errors.push(describeError(err));
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
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
      if (attempt >= 6 || isUnreached(err)) throw err;
      await lxd.stopInstance(name, { force: true, timeoutSeconds: 30 }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function saveLogs(reader: InstanceReader, dir: string, rawResult: Buffer | null): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const saved: string[] = [];
  const save = async (file: string, content: Buffer | null) => {
    if (!content) return;
    await writeFile(join(dir, file), content, { mode: 0o640 });
    saved.push(file);
  };
  await save("result.json", rawResult);
  const archive = await reader.read(paths.logArchive, logArchiveRead);
  if (archive) {
    await save(basename(paths.logArchive), archive);
    return saved;
  }
  // The agent did not get as far as bundling its logs: take whatever loose logs there are.
  for (const path of paths.logs) await save(basename(path), await reader.read(path, looseLogRead));
  return saved;
}
