// Placement on a cluster: which member each new runner goes to, and what the members hold. Pure,
// like plan.ts. By default the server's own scheduler places runners (no target); runnerd chooses
// the member itself only when it must: a per-member cap, or a pool that spreads its runners.
import type { MemberState, MemberView, ObservedRunner, PoolSpec } from "./types.js";

/** What each member holds, for placing and for `status`. */
export interface MemberTally {
  name: string;
  state: MemberState;
  /** Runners whose instance runs (or is being made) there: they count toward the per-member cap. */
  active: number;
  idle: number;
  busy: number;
  /** Runners there written off after the member was offline too long. */
  lost: number;
  /** Active runners per pool. */
  byPool: Map<string, number>;
}

const countedPhases = new Set(["creating", "starting", "idle", "busy", "finishing"]);

export function tallyMembers(members: readonly MemberView[], runners: readonly ObservedRunner[], lost: ReadonlySet<string>): Map<string, MemberTally> {
  const tallies = new Map<string, MemberTally>();
  for (const m of members) tallies.set(m.name, { name: m.name, state: m.state, active: 0, idle: 0, busy: 0, lost: 0, byPool: new Map() });
  for (const r of runners) {
    const t = r.member !== undefined ? tallies.get(r.member) : undefined;
    if (!t) continue;
    if (lost.has(r.name)) {
      t.lost++;
      continue;
    }
    if (!countedPhases.has(r.phase)) continue;
    t.active++;
    if (r.phase === "idle") t.idle++;
    if (r.phase === "busy") t.busy++;
    t.byPool.set(r.pool, (t.byPool.get(r.pool) ?? 0) + 1);
  }
  return tallies;
}

/** Whether a member is one the pool's `placement.target` names: the member itself or `@group`. */
export function inTarget(member: MemberView, target: string | undefined): boolean {
  if (target === undefined) return true;
  return target.startsWith("@") ? member.groups.includes(target.slice(1)) : member.name === target;
}

export type Placement = { target?: string } | { blocked: "member-cap" | "no-member" };

/**
 * Where the next runner of `spec` goes, given what the members hold now (the caller counts the
 * choice in before placing the next one). `target` absent: the server's scheduler chooses.
 */
export function placeRunner(spec: PoolSpec, members: readonly MemberView[], tallies: ReadonlyMap<string, MemberTally>, maxPerMember: number | undefined): Placement {
  if (members.length === 0) return {};
  const target = spec.placement?.target;
  const candidates = members.filter((m) => inTarget(m, target));
  // Offline members cannot start anything; evacuated ones are being emptied for maintenance.
  const live = candidates.filter((m) => m.state === "online");
  if (live.length === 0) return { blocked: "no-member" };
  const open = live.filter((m) => maxPerMember === undefined || (tallies.get(m.name)?.active ?? 0) < maxPerMember);
  if (open.length === 0) return { blocked: "member-cap" };
  if (maxPerMember === undefined && spec.placement?.spread !== true) {
    // The server's scheduler skips offline and evacuated members itself; a single named member is
    // passed on as it is (checked live above), a group too.
    return target !== undefined ? { target } : {};
  }
  const load = (m: MemberView) => tallies.get(m.name);
  const chosen = [...open].sort((a, b) => {
    const byPool = spec.placement?.spread === true ? (load(a)?.byPool.get(spec.name) ?? 0) - (load(b)?.byPool.get(spec.name) ?? 0) : 0;
    return byPool || (load(a)?.active ?? 0) - (load(b)?.active ?? 0) || a.name.localeCompare(b.name);
  })[0];
  return chosen ? { target: chosen.name } : { blocked: "member-cap" };
}

/** Counts a runner placed on `member` into the tallies, so the next placement in the pass sees it. */
export function countPlaced(tallies: Map<string, MemberTally>, member: string, pool: string): void {
  const t = tallies.get(member);
  if (!t) return;
  t.active++;
  t.byPool.set(pool, (t.byPool.get(pool) ?? 0) + 1);
}
