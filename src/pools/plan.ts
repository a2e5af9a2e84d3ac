// The reconciler's decisions: a pure function from desired and observed state to actions.
// No clock reads, randomness or I/O here; `now` comes in, actions go out, each with its reason.
import type { Action, ObservedRunner, Plan, PlanSettings, PoolBlocker, PoolSpec, PoolStatus, Snapshot } from "./types.js";

interface PoolTally {
  spec: PoolSpec;
  creating: number;
  starting: ObservedRunner[];
  idle: ObservedRunner[];
  busy: number;
  /** Runners whose agent reported the end while their instance still runs: not available, but holding a slot. */
  held: number;
  /** For the pool's status: runners on their way out (finishing, stopped, being collected or timed out). */
  finishing: number;
}

/**
 * Phases whose instance runs (or is being made), so they count toward the pool's ceiling and the
 * host's `max_runners`. `finishing` is among them: its agent said "finished", but the instance
 * runs until LXD stops it, and a job (root in the container) can write "finished" and stay up.
 */
const activePhases = new Set(["creating", "starting", "idle", "busy", "finishing"]);

export function plan(snapshot: Snapshot, settings: PlanSettings, now: number): Plan {
  const actions: Action[] = [];
  const deadlines: number[] = [];
  const tallies = new Map<string, PoolTally>();
  for (const spec of snapshot.pools) {
    tallies.set(spec.name, { spec, creating: 0, starting: [], idle: [], busy: 0, held: 0, finishing: 0 });
  }

  let hostActive = 0;
  for (const runner of snapshot.runners) {
    const tally = tallies.get(runner.pool);
    const decided = tally
      ? (outdated(runner, snapshot) ?? judgeRunner(runner, tally, settings, now, deadlines))
      : drainRunner(runner, settings, now, deadlines);
    if (decided) actions.push(decided);
    // A runner being timed out or drained still holds its slot until it is gone.
    if (activePhases.has(runner.phase)) hostActive++;
  }

  const statuses: PoolStatus[] = [];
  const wants = new Map<string, number>();
  const availableByPool = new Map<string, number>();
  for (const tally of tallies.values()) {
    const status = tallyStatus(tally, snapshot, now);
    const available = tally.creating + tally.starting.length + tally.idle.length;
    const active = available + tally.busy + tally.held;
    availableByPool.set(tally.spec.name, available);
    // Queued jobs waiting for this pool raise its target above the floor, up to the ceiling.
    const queued = snapshot.demand?.get(tally.spec.name) ?? 0;
    if (queued > 0) status.queued = queued;
    const target = Math.max(tally.spec.floor, queued);
    const missing = Math.min(target - available, tally.spec.ceiling - active);
    if (missing > 0) {
      const blocked = spawnBlocker(tally.spec, snapshot, settings, now, deadlines);
      if (blocked) status.blocked = blocked;
      else wants.set(tally.spec.name, missing);
    } else if (available > target) {
      actions.push(...trimIdle(tally, available - target, now, deadlines));
    }
    statuses.push(status);
  }

  const granted = shareFreeSlots(tallies, wants, settings.maxRunners - hostActive, snapshot.lastSpawnAt);
  for (const status of statuses) {
    const want = wants.get(status.name) ?? 0;
    const got = granted.get(status.name) ?? 0;
    for (let i = 0; i < got; i++) {
      const available = (availableByPool.get(status.name) ?? 0) + i;
      const reason = status.queued ? `${status.queued} queued job(s), ${available} runner(s) available` : `${available} of ${status.floor} idle runners available`;
      actions.push({ kind: "spawn", pool: status.name, reason });
    }
    if (got < want) status.blocked = "host-cap";
  }

  if (snapshot.runners.some((r) => r.phase === "starting")) deadlines.push(now + settings.startingPollMs);
  const next = deadlines.length > 0 ? Math.min(...deadlines) : undefined;
  const plan: Plan = { actions, pools: statuses };
  if (next !== undefined) plan.requeueAfterMs = Math.max(0, next - now);
  return plan;
}

/** Decides about one runner of a configured pool and counts it. */
function judgeRunner(runner: ObservedRunner, tally: PoolTally, settings: PlanSettings, now: number, deadlines: number[]): Action | undefined {
  const base = { pool: runner.pool, runner: runner.name };
  switch (runner.phase) {
    case "creating":
      tally.creating++;
      return undefined;
    case "starting": {
      const deadline = runner.createdAt + settings.bootTimeoutMs;
      if (now >= deadline) {
        tally.finishing++;
        return { kind: "collect", ...base, forceStop: true, outcome: "boot-timeout", reason: `not listening ${formatMs(now - runner.createdAt)} after creation (boot timeout ${formatMs(settings.bootTimeoutMs)})` };
      }
      deadlines.push(deadline);
      tally.starting.push(runner);
      return undefined;
    }
    case "idle":
      tally.idle.push(runner);
      return undefined;
    case "busy": {
      const since = runner.phaseSince ?? runner.createdAt;
      const deadline = since + settings.jobTimeoutMs;
      if (now >= deadline) {
        tally.finishing++;
        return { kind: "collect", ...base, forceStop: true, outcome: "job-timeout", reason: `job ran for ${formatMs(now - since)} (job timeout ${formatMs(settings.jobTimeoutMs)})` };
      }
      deadlines.push(deadline);
      tally.busy++;
      return undefined;
    }
    case "finishing":
      // Its replacement is already wanted (it no longer counts as available), within the caps it
      // still counts toward; collecting waits for LXD to finish the stop the agent began, so the
      // two do not compete.
      tally.finishing++;
      tally.held++;
      return stuckFinishing(runner, settings, now, deadlines);
    case "stopped":
      tally.finishing++;
      return { kind: "collect", ...base, forceStop: false, reason: "instance stopped" };
    case "deleting":
      tally.finishing++;
      return undefined;
  }
}

/**
 * Rolling to a new image: a runner that has no job yet and was made from an image other than the
 * one its pool's alias points at now is replaced; busy runners finish their job on the old one.
 * It does not count as available, so its replacement is spawned in the same pass.
 */
function outdated(runner: ObservedRunner, snapshot: Snapshot): Action | undefined {
  if (runner.phase !== "idle" && runner.phase !== "starting") return undefined;
  const current = snapshot.poolImages?.get(runner.pool);
  if (current === undefined || runner.image === undefined || runner.image === current) return undefined;
  return {
    kind: "delete",
    pool: runner.pool,
    runner: runner.name,
    outcome: "image-updated",
    reason: `made from image ${runner.image.slice(0, 12)}; the pool's image is now ${current.slice(0, 12)}`,
  };
}

/**
 * A runner whose agent finished but whose instance still runs after `finishingTimeoutMs` (timed
 * from the clamped phase start, see observe.ts): the agent powers off right after it writes
 * "finished", so this one is stuck or a job wrote the file and stayed up. Force-stopped and
 * collected with an outcome that says so.
 */
function stuckFinishing(runner: ObservedRunner, settings: PlanSettings, now: number, deadlines: number[]): Action | undefined {
  const since = runner.phaseSince ?? runner.createdAt;
  const deadline = since + settings.finishingTimeoutMs;
  if (now < deadline) {
    deadlines.push(deadline);
    return undefined;
  }
  const reason = `agent finished ${formatMs(now - since)} ago but the instance is still running: force-stopped (finishing deadline ${formatMs(settings.finishingTimeoutMs)})`;
  return { kind: "collect", pool: runner.pool, runner: runner.name, forceStop: true, outcome: "finishing-timeout", reason };
}

/** A runner whose pool left the configuration: idle ones go, busy ones finish their job. */
function drainRunner(runner: ObservedRunner, settings: PlanSettings, now: number, deadlines: number[]): Action | undefined {
  const base = { pool: runner.pool, runner: runner.name };
  switch (runner.phase) {
    case "stopped":
      return { kind: "collect", ...base, forceStop: false, reason: "instance stopped (pool no longer configured)" };
    case "finishing":
      return stuckFinishing(runner, settings, now, deadlines);
    case "starting":
    case "idle":
      return { kind: "delete", ...base, outcome: "pool-removed", reason: `pool ${runner.pool} is no longer configured` };
    default:
      return undefined;
  }
}

function spawnBlocker(spec: PoolSpec, snapshot: Snapshot, settings: PlanSettings, now: number, deadlines: number[]): PoolBlocker | undefined {
  if (snapshot.shuttingDown) return "shutting-down";
  // JIT pools mint a config per runner when spawning: no pushed token to wait for.
  if (spec.credential !== "jit") {
    const expiry = snapshot.tokenExpiry.get(spec.scope);
    if (expiry === undefined) return "token-missing";
    if (expiry - now < settings.tokenMinValidityMs) return "token-expiring";
    // Look again when the token becomes too old, so the pool's status changes on time.
    deadlines.push(expiry - settings.tokenMinValidityMs);
  }
  // Every runner of the refused image would be refused too; the block ends when the image moves.
  if (snapshot.deprecated?.has(spec.name)) return "runner-deprecated";
  const until = snapshot.backoffUntil.get(spec.name);
  if (until !== undefined && until > now) {
    deadlines.push(until);
    return "backoff";
  }
  return undefined;
}

/**
 * Runners above the target: with an idle timeout, only those idle for that long go (longest idle
 * first), so a burst's runners are kept for the next jobs for a while; a deadline wakes the loop
 * when the next one times out. Without one (older configs, tests), as trimSurplus.
 */
function trimIdle(tally: PoolTally, count: number, now: number, deadlines: number[]): Action[] {
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

/**
 * Hands out the host's free slots one at a time, each to the pool that has the smallest share of
 * its ceiling in use, so that no pool starves when the host-wide cap is reached. Ties go to the
 * pool served least recently, so an odd slot alternates between pools instead of always going
 * to the first one in the file.
 */
function shareFreeSlots(tallies: Map<string, PoolTally>, wants: Map<string, number>, free: number, lastSpawnAt: ReadonlyMap<string, number> = new Map()): Map<string, number> {
  const granted = new Map<string, number>();
  const remaining = new Map(wants);
  const inUse = new Map<string, number>();
  const served = new Map(lastSpawnAt);
  for (const [name, t] of tallies) inUse.set(name, t.creating + t.starting.length + t.idle.length + t.busy + t.held);
  for (let slot = 0; slot < free; slot++) {
    let best: string | undefined;
    let bestShare = Infinity;
    let bestServed = Infinity;
    for (const [name, left] of remaining) {
      if (left <= 0) continue;
      const share = (inUse.get(name) ?? 0) / Math.max(1, tallies.get(name)?.spec.ceiling ?? 1);
      const lastServed = served.get(name) ?? -Infinity;
      if (share < bestShare || (share === bestShare && lastServed < bestServed)) {
        best = name;
        bestShare = share;
        bestServed = lastServed;
      }
    }
    if (best === undefined) break;
    granted.set(best, (granted.get(best) ?? 0) + 1);
    remaining.set(best, (remaining.get(best) ?? 0) - 1);
    inUse.set(best, (inUse.get(best) ?? 0) + 1);
    served.set(best, Number.MAX_SAFE_INTEGER - free + slot); // just served: later than any real time
  }
  return granted;
}

function tallyStatus(tally: PoolTally, snapshot: Snapshot, _now: number): PoolStatus {
  const status: PoolStatus = {
    name: tally.spec.name,
    scope: tally.spec.scope,
    idle: tally.idle.length,
    busy: tally.busy,
    starting: tally.creating + tally.starting.length,
    finishing: tally.finishing,
    floor: tally.spec.floor,
    ceiling: tally.spec.ceiling,
  };
  const expiry = snapshot.tokenExpiry.get(tally.spec.scope);
  if (tally.spec.credential === "jit") status.credential = "jit";
  else if (expiry !== undefined) status.tokenExpiresAt = expiry;
  return status;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 360_000) / 10}h`;
}
