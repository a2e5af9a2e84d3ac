// The reconciler's decisions: a pure function from desired and observed state to actions.
// No clock reads, randomness or I/O here; `now` comes in, actions go out, each with its reason.
import { formatMs } from "./format-ms.js";
import { countPlaced, placeRunner, tallyMembers, type MemberTally } from "./placement.js";
import { shareFreeSlots } from "./share-slots.js";
import type { PoolTally } from "./pool-tally.js";
import { trimIdle } from "./trim.js";
import type { Action, MemberView, ObservedRunner, Plan, PlanSettings, PoolBlocker, PoolSpec, PoolStatus, Snapshot } from "./types.js";

export { formatMs } from "./format-ms.js";


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
  const members = new Map((snapshot.members ?? []).map((m) => [m.name, m]));
  const lost: ObservedRunner[] = [];
  for (const runner of snapshot.runners) {
    const member = runner.member !== undefined ? members.get(runner.member) : undefined;
    if (member?.state === "offline" && writtenOff(member, settings, now, deadlines)) {
      lost.push(runner);
      continue;
    }
    const tally = tallies.get(runner.pool);
    const decided = tally
      ? (outdated(runner, snapshot) ?? evacuating(runner, member) ?? judgeRunner(runner, tally, settings, now, deadlines))
      : drainRunner(runner, settings, now, deadlines);
    // Nothing can be done to an instance on an offline member; it counts as it was until written off.
    if (decided && member?.state !== "offline" && runner.unreachable !== true) actions.push(decided);
    // A runner being timed out or drained still holds its slot until it is gone.
    if (activePhases.has(runner.phase)) hostActive++;
  }
  const memberTallies = tallyMembers(snapshot.members ?? [], snapshot.runners, new Set(lost.map((r) => r.name)));

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
    const spec = tallies.get(status.name)?.spec;
    for (let i = 0; i < got && spec; i++) {
      const placed = placeRunner(spec, snapshot.members ?? [], memberTallies, settings.maxRunnersPerMember);
      if ("blocked" in placed) {
        status.blocked = placed.blocked;
        break;
      }
      const available = (availableByPool.get(status.name) ?? 0) + i;
      const reason = status.queued ? `${status.queued} queued job(s), ${available} runner(s) available` : `${available} of ${status.floor} idle runners available`;
      const clustered = members.size > 0 ? { clustered: true } : {};
      actions.push({ kind: "spawn", pool: status.name, reason, ...clustered, ...(placed.target !== undefined ? { target: placed.target } : {}) });
      if (placed.target !== undefined) countPlaced(memberTallies, placed.target, status.name);
    }
    if (got < want && status.blocked === undefined) status.blocked = "host-cap";
  }

  if (snapshot.runners.some((r) => r.phase === "starting")) deadlines.push(now + settings.startingPollMs);
  const next = deadlines.length > 0 ? Math.min(...deadlines) : undefined;
  const plan: Plan = { actions, pools: statuses };
  if (members.size > 0) plan.members = memberStatuses(memberTallies);
  if (lost.length > 0) plan.lost = lost;
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

/**
 * Whether the runners of an offline member are written off: no longer capacity, replaced on live
 * members. Until then they count as they were (a member's daemon may only be restarting).
 */
function writtenOff(member: MemberView, settings: PlanSettings, now: number, deadlines: number[]): boolean {
  const since = member.offlineSince ?? now;
  const deadline = since + (settings.memberOfflineTimeoutMs ?? 0);
  if (now >= deadline) return true;
  deadlines.push(deadline);
  return false;
}

/** A member being evacuated is emptied: runners without a job go (and are replaced elsewhere); busy ones finish. */
function evacuating(runner: ObservedRunner, member: MemberView | undefined): Action | undefined {
  if (member?.state !== "evacuated") return undefined;
  const reason = `member ${member.name} is evacuated`;
  // The evacuation itself stops them (cluster.evacuate=stop, spawn.ts): ended on purpose, no failure of the pool.
  if (runner.phase === "stopped") return { kind: "collect", pool: runner.pool, runner: runner.name, forceStop: false, outcome: "member-evacuated", reason };
  if (runner.phase !== "idle" && runner.phase !== "starting") return undefined;
  return { kind: "delete", pool: runner.pool, runner: runner.name, outcome: "member-evacuated", reason };
}

function memberStatuses(tallies: ReadonlyMap<string, MemberTally>): NonNullable<Plan["members"]> {
  return [...tallies.values()].map((t) => ({ name: t.name, state: t.state, runners: t.active, idle: t.idle, busy: t.busy, lost: t.lost }));
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

