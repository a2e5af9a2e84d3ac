// `runnerd status --watch`: the status view redrawn every interval until Ctrl-C, with the most
// recent jobs below it. One LXD connection and one store handle serve every redraw.
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config/index.js";
import { parseDuration } from "../config/duration.js";
import { connectLxd } from "../lxd/connect.js";
import { liveStatus, type LiveStatus } from "../daemon/live-status.js";
import { UsageError, describeError } from "../errors.js";
import type { JobRecord } from "../store/job-types.js";
import { openStore } from "../store/index.js";
import { renderJobs } from "./jobs.js";
import { humanDuration } from "./output.js";

/** Cursor home, clear the screen and the scrollback: each frame replaces the last. */
const clearScreen = "\x1b[H\x1b[2J\x1b[3J";
const recentJobs = 10;
const minIntervalMs = 500;

export function parseWatchInterval(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < minIntervalMs) throw new UsageError(`status: --interval must be a duration of at least ${minIntervalMs}ms, such as 2s or 1m, not "${value}"`);
  return ms;
}

export interface WatchFrame {
  at: number;
  intervalMs: number;
  /** renderStatus's text, when the status could be read. */
  status?: string;
  error?: string;
  jobs: JobRecord[];
}

export function renderWatchFrame(frame: WatchFrame): string {
  const parts = [`runnerd status, every ${humanDuration(frame.intervalMs)}, at ${new Date(frame.at).toLocaleTimeString()} (Ctrl-C to stop)`, ""];
  if (frame.error !== undefined) parts.push(`status failed: ${frame.error}`);
  if (frame.status !== undefined) parts.push(frame.status);
  if (frame.jobs.length > 0) parts.push("", "recent jobs:", renderJobs(frame.jobs, frame.at));
  return parts.join("\n");
}

export interface WatchOptions {
  config: Config;
  intervalMs: number;
  /** Ends the watch (the command aborts it on SIGINT). */
  signal: AbortSignal;
  render(status: LiveStatus): string;
  out?: NodeJS.WriteStream;
}

/** Redraws until the signal aborts; a failed redraw shows its error and the next one retries. */
export async function watchStatus({ config, intervalMs, signal, render, out = process.stdout }: WatchOptions): Promise<void> {
  const lxd = await connectLxd(config.lxd);
  const store = openStore(config.state_dir);
  try {
    while (!signal.aborted) {
      const frame: WatchFrame = { at: Date.now(), intervalMs, jobs: [] };
      try {
        frame.status = render(await liveStatus(config, lxd, store, frame.at));
        frame.jobs = store.listJobs({ limit: recentJobs });
      } catch (err) {
        // LXD restarting or the database busy: say so and try again next time.
        frame.error = describeError(err);
      }
      // Not a terminal (a pipe, a file): frames follow each other instead of overwriting.
      out.write(`${out.isTTY ? clearScreen : "\n"}${renderWatchFrame(frame)}\n`);
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    store.close();
    await lxd.client.close();
  }
}
