// The host's free slots shared between pools that want runners. Pure, part of plan.ts.
import type { PoolTally } from "./pool-tally.js";

/**
 * Hands out the host's free slots one at a time, each to the pool that has the smallest share of
 * its ceiling in use, so that no pool starves when the host-wide cap is reached. Ties go to the
 * pool served least recently, so an odd slot alternates between pools instead of always going
 * to the first one in the file.
 */
export function shareFreeSlots(tallies: Map<string, PoolTally>, wants: Map<string, number>, free: number, lastSpawnAt: ReadonlyMap<string, number> = new Map()): Map<string, number> {
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

