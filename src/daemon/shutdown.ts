// SIGTERM with LXD hanging: the daemon still stops within `shutdown_timeout` (20 s by default, well
// under the systemd unit's TimeoutStopSec=60). Leaving early loses nothing: runners are never
// touched on the way out, and the next start adopts running ones and collects stopped ones.
//
//   at 0         no more passes or actions (queued ones are dropped), timers, HTTP server, LXD events
//   up to T/2    actions under way and the periodic tasks' runs may finish on their own
//   then         LXD calls still in flight are aborted (undici's Agent.destroy) and fail at once
//   up to 3T/4   what was aborted settles, so whatever it records is written before the store closes
//   then         the store is closed (nothing that writes to it is still running, or it is abandoned
//                and `runnerd up` exits right away) and the pid file released
//   at T         `runnerd up` exits with status 1 if all this has not finished (a backstop)
import type { Logger } from "pino";

export interface ShutdownPhases {
  /** How long work under way may take to finish on its own. */
  graceMs: number;
  /** How long, after LXD calls are aborted, what they belonged to may take to settle. */
  settleMs: number;
}

export function shutdownPhases(timeoutMs: number): ShutdownPhases {
  return { graceMs: Math.round(timeoutMs / 2), settleMs: Math.round(timeoutMs / 4) };
}

/** Whether `work` settled (resolved or rejected) within `ms`. */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = work.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ShutdownSteps {
  logger: Logger;
  timeoutMs: number;
  /** Stops every part taking new work; resolves once the work they had under way is over. */
  stopWork(): Promise<unknown>;
  /** Runners with an action under way, for the log. */
  inFlight(): string[];
  /** Closes the LXD client, aborting every call still in flight. */
  abortLxd(): Promise<void>;
  /** Records the stop, closes the store, releases the pid file. */
  closeStore(): void;
}

export interface ShutdownReport {
  ms: number;
  /** The LXD calls in flight were aborted: work had not finished within the grace period. */
  aborted: boolean;
  /** Runners whose action had still not ended when the store closed. */
  abandoned: string[];
}

export async function boundedShutdown(steps: ShutdownSteps): Promise<ShutdownReport> {
  const started = performance.now();
  const { graceMs, settleMs } = shutdownPhases(steps.timeoutMs);
  const work = steps.stopWork();
  const finished = await settledWithin(work, graceMs);
  if (!finished) {
    steps.logger.warn(
      { runners: steps.inFlight(), graceMs },
      "work still under way after the grace period: aborting the LXD calls in flight; the next start adopts or collects these runners",
    );
  }
  // Destroying an idle client costs nothing; a hung call (in an action or elsewhere) ends here.
  const settleBy = performance.now() + settleMs;
  await settledWithin(steps.abortLxd(), settleMs);
  const settled = finished || (await settledWithin(work, Math.max(0, settleBy - performance.now())));
  const abandoned = settled ? [] : steps.inFlight();
  if (!settled) steps.logger.warn({ runners: abandoned, settleMs }, "actions still under way after their LXD calls were aborted: leaving them unfinished");
  steps.closeStore();
  return { ms: Math.round(performance.now() - started), aborted: !finished, abandoned };
}
