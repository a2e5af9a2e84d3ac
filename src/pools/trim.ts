// Scale-down within a pool: which idle runners above the target go, and when. Pure, part of plan.ts.
import { formatMs } from "./format-ms.js";
import type { PoolTally } from "./pool-tally.js";
import type { Action, ObservedRunner } from "./types.js";

/**
 * Runners above the target: with an idle timeout, only those idle for that long go (longest idle
 * first), so a burst's runners are kept for the next jobs for a while; a deadline wakes the loop
 * when the next one times out. Without one (older configs, tests), as trimSurplus.
 */
export function trimIdle(tally: PoolTally, count: number, now: number, deadlines: number[]): Action[] {
  const timeout = tally.spec.idleTimeoutMs;
  if (timeout === undefined) return trimSurplus(tally, count);
  const idleSince = (r: ObservedRunner) => r.phaseSince ?? r.createdAt;
  const byIdleAge = [...tally.idle].sort((a, b) => idleSince(a) - idleSince(b));
  const expired = byIdleAge.filter((r) => now - idleSince(r) >= timeout).slice(0, count);
  if (expired.length < count) {
    const next = byIdleAge.find((r) => now - idleSince(r) < timeout);
    if (next) deadlines.push(idleSince(next) + timeout);
  }
  return expired.map((runner) => ({
    kind: "delete" as const,
    pool: runner.pool,
    runner: runner.name,
    outcome: "surplus" as const,
    reason: `idle for ${formatMs(now - idleSince(runner))} above the target of ${tally.spec.floor} (idle timeout ${formatMs(timeout)})`,
  }));
}

/** Removes runners above the idle floor, those not yet listening first (they cannot have a job). */
function trimSurplus(tally: PoolTally, count: number): Action[] {
  const candidates = [...tally.starting, ...[...tally.idle].sort((a, b) => b.createdAt - a.createdAt)];
  return candidates.slice(0, count).map((runner) => ({
    kind: "delete" as const,
    pool: runner.pool,
    runner: runner.name,
    outcome: "surplus" as const,
    reason: `above the idle floor of ${tally.spec.floor}`,
  }));
}

