// When an idle runner's status file is read again. An idle runner changes only when it takes a
// job, and each read costs LXD a helper process: reading every idle runner on every pass made a
// quiet pass over 500 runners cost 500 reads (bench/scale-sim.ts). A pool whose jobs runnerd
// hears of (`workflow_job` webhooks or job recovery feed its queued demand) has its idle runners
// read every idleRecheckMs only while a job of it is queued or was a moment ago, and otherwise
// every few minutes, spread per runner: the safety net for lost webhooks, and for a job GitHub
// gave to a runner of another pool than the one runnerd matched it to. A runner an in_progress
// webhook names is read at the next pass when the daemon passes the name on
// (Reconciler.runnerTookJob). A pool runnerd has never heard a job of (push mode without a
// webhook) is read every idleRecheckMs, as before.
// No decision that must be safe hangs on these reads: a delete re-checks the runner first
// (GitHub's 422, or the status file: actions.ts), and a runner whose job ends powers off, which
// LXD reports; a busy runner seen late is still timed from its agent's start time (observe.ts).

/** How often an idle runner is read while its pool may be handing out a job. */
export const idleRecheckMs = 2_000;
/** How often an idle runner of a quiet pool is read: between half this and this, per runner. */
export const idleQuietRecheckMs = 300_000;
/**
 * How long, at least, a pool counts as handing out jobs after its queued demand was last seen
 * above zero: the runner that took the job is read at the passes that follow, of which the
 * resync is the last resort (snapshot.ts makes it twice the resync interval when that is longer).
 */
export const demandLingerMs = 30_000;

export class IdleReads {
  /** When each pool's queued demand was last seen above zero. */
  private readonly heardAt = new Map<string, number>();

  /** Takes in the queued demand a pass starts from (undefined: runnerd hears of no jobs). */
  update(demand: ReadonlyMap<string, number> | undefined, now: number): void {
    for (const [pool, queued] of demand ?? []) if (queued > 0) this.heardAt.set(pool, now);
  }

  /** How long after its last read an idle runner of `pool` is read again. */
  intervalFor(pool: string, runner: string, now: number, lingerMs = demandLingerMs): number {
    const heard = this.heardAt.get(pool);
    if (heard === undefined || now - heard < lingerMs) return idleRecheckMs;
    return idleQuietRecheckMs * (0.5 + spread(runner) / 2);
  }
}

/**
 * A stable number in [0, 1) per runner, so that a quiet pool's re-reads do not all fall in one
 * pass: FNV-1a, then murmur3's finalizer (FNV alone left names that differ in their last
 * character bunched in a few tenths of the range).
 */
function spread(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}
