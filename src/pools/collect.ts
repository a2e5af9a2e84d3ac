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

/** Where logs go, and how much of a runner's log bundle is kept (`logs_retention.max_runner_mib`). */
export interface LogKeeping {
  logsDir: string;
  maxRunnerLogBytes: number;
  /** A cluster evacuation stopped it (plan.ts). */
  evacuated?: boolean;
}

/** The collection was put off: the instance stays, untouched, and a later pass collects it. */
export interface Deferred {
  deferred: string;
}

/**
 * `mayDefer`: when the result read hangs while LXD has not finished processing the stop, give the
 * collection up for now instead of recording the job as lost (the caller bounds how often).
 */
export async function collectRunner(lxd: LxdPort, name: string, keeping: LogKeeping, forceStop: boolean, mayDefer = false): Promise<Collected | Deferred> {
  if (forceStop) await lxd.stopInstance(name, { force: true, timeoutSeconds: 30 });
  // Reads made before LXD has run the stop hook of an instance that powered itself off race
  // that hook (in CI, on LXD 5.0.2 and on Incus 6.0.4, such reads hung ~30 s each); after it,
  // LXD mounts the stopped root file system afresh for each read.
  // Not after an evacuation: it stops instances and leaves them marked running on purpose (so that
  // `cluster restore` starts them again), which this wait would take for a stop not yet processed.
  const stopProcessed = keeping.evacuated === true || (await lxd.waitForStopCleanup(name).catch(() => false));
  const reader = new InstanceReader(lxd, name, collectReadBudgetMs);
  const rawResult = await reader.read(paths.result, resultRead);
  // LXD 5.0.2 under load once took over 10 s to process a stop, and the read made meanwhile hung
  // (CI, pools.test.ts: a succeeded job recorded as lost). A FIFO the job left hangs every read;
  // this hangs only until LXD is done, so try again later rather than record a guess.
  if (mayDefer && reader.hung && !stopProcessed) return { deferred: `reading result.json hung while LXD had not finished processing the stop` };
  const { result, outcome, detail: resultDetail } = readAgentResult(rawResult);
  const detail = reader.errors.length > 0 ? `reading result.json failed: ${reader.errors.join("; ")}` : resultDetail;
  const { saved: logFiles, cut } = await saveLogs(reader, join(keeping.logsDir, name), rawResult, keeping.maxRunnerLogBytes);
  await deleteInstance(lxd, name);
  const collected: Collected = { result, outcome, logFiles };
  const notes = [detail, ...cut.map((file) => `${file} cut at ${mib(keeping.maxRunnerLogBytes)} (logs_retention.max_runner_mib); the rest was not read`)];
  if (notes.some(Boolean)) collected.detail = notes.filter(Boolean).join("; ");
  return collected;
}

/**
 * Reads files from a stopped instance within one budget. Missing is an answer (null); a quick
 * error is retried (LXD refuses file access for a moment around a stop); a read that ran out of
 * time is not, and no later read is tried: what hung it (a FIFO the job left, say) still does.
 */
export class InstanceReader {
  readonly errors: string[] = [];
  private timedOut = false;
  private readonly deadline: number;

  constructor(
    private readonly lxd: LxdPort,
    private readonly name: string,
    budgetMs: number,
  ) {
    this.deadline = performance.now() + budgetMs;
  }

  /** A read ran out of time; no later read is tried. */
  get hung(): boolean {
    return this.timedOut;
  }

  read(path: string, bounds: ReadBounds): Promise<Buffer | null> {
    return this.attempt(path, bounds, (b) => this.lxd.pullFile(this.name, path, b));
  }

  /** Streams the file to `dest`, cut at `bounds.maxBytes` (logs: the first part is worth keeping). */
  readTo(path: string, dest: string, bounds: ReadBounds): Promise<{ bytes: number; truncated: boolean } | null> {
    return this.attempt(path, bounds, (b) => this.lxd.pullFileTo(this.name, path, dest, b));
  }

  private async attempt<T>(path: string, bounds: ReadBounds, pull: (bounds: ReadBounds) => Promise<T | null>): Promise<T | null> {
    for (let attempt = 1; ; attempt++) {
      const left = Math.floor(this.deadline - performance.now());
      if (this.timedOut || left <= 0) {
        this.errors.push(`${basename(path)} not read: ${this.timedOut ? "an earlier read hung" : "the read budget is spent"}`);
        return null;
      }
      try {
        return await pull({ timeoutMs: Math.min(bounds.timeoutMs, left), maxBytes: bounds.maxBytes });
      } catch (err) {
        if (isDeadlineError(err)) this.timedOut = true;
        // LXD not reached (restarting, or runnerd shutting down): no answer about the file at
        // all, so give the collection up; the instance stays and a later pass collects it.
        else if (isUnreached(err)) throw err;
        const tooLarge = err instanceof LxdError && err.status === 413;
        if (this.timedOut || tooLarge || attempt >= 3) {
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

/** Saves result.json and the logs; `cut`: files kept only up to `maxLogBytes`. */
async function saveLogs(reader: InstanceReader, dir: string, rawResult: Buffer | null, maxLogBytes: number): Promise<{ saved: string[]; cut: string[] }> {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const saved: string[] = [];
  const cut: string[] = [];
  if (rawResult) {
    await writeFile(join(dir, "result.json"), rawResult, { mode: 0o640 });
    saved.push("result.json");
  }
  const keep = async (path: string, bounds: ReadBounds): Promise<boolean> => {
    const file = basename(path);
    const pulled = await reader.readTo(path, join(dir, file), bounds);
    if (pulled) saved.push(file);
    if (pulled?.truncated) cut.push(file);
    return pulled !== null;
  };
  if (await keep(paths.logArchive, { ...logArchiveRead, maxBytes: maxLogBytes })) return { saved, cut };
  // The agent did not get as far as bundling its logs: take whatever loose logs there are.
  for (const path of paths.logs) await keep(path, { ...looseLogRead, maxBytes: Math.min(looseLogRead.maxBytes, maxLogBytes) });
  return { saved, cut };
}

const mib = (bytes: number) => `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
