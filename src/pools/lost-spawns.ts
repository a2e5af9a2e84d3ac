// Spawns whose fate runnerd cannot know when they fail: a create or start whose answer was lost
// (LXD died or stalled mid-call: status 0, a reset connection, a deadline) may have made, or even
// started, the instance; a half-made instance LXD would not delete is still there. Recording
// `spawn-failed` then would be a guess, and wrong for a runner that goes on to run a job. Instead
// the next passes look at what LXD holds: an instance it lists is an ordinary runner from then on
// (its collection records how it really ended); one it never starts is collected as the failed
// spawn it was; none at all, in a listing taken after the failure, settles it as failed.
import type { Logger } from "pino";
import type { ObservedRunner, RunnerPhase } from "./types.js";

export interface LostSpawn {
  pool: string;
  /** What the spawn's failure said. */
  message: string;
  /** The spawn's logger (pool and runner bound). */
  log: Logger;
  /** A listing taken after the failure may decide: the first pass after it arms, the next decides. */
  armed: boolean;
  /** LXD listed the instance: its collection settles it. */
  listed: boolean;
  /** A pass saw it running (started, listening, busy or finishing): its own result tells how it ended. */
  ran: boolean;
}

const running = new Set<RunnerPhase>(["starting", "idle", "busy", "finishing"]);

export class LostSpawns {
  private readonly pending = new Map<string, LostSpawn>();

  add(name: string, pool: string, message: string, log: Logger): void {
    this.pending.set(name, { pool, message, log, armed: false, listed: false, ran: false });
  }

  /**
   * Takes in a pass's runners; returns the spawns LXD holds nothing of (settled as failed) and
   * forgets them. The pass that follows the failure may have listed the instances before the
   * failure was known (the list is read, then the in-flight actions), so only the pass after it
   * decides that an instance is absent.
   */
  observe(runners: readonly ObservedRunner[]): (LostSpawn & { name: string })[] {
    if (this.pending.size === 0) return [];
    const byName = new Map(runners.map((r) => [r.name, r]));
    const absent: (LostSpawn & { name: string })[] = [];
    for (const [name, lost] of this.pending) {
      const runner = byName.get(name);
      if (runner && runner.phase !== "creating") {
        lost.listed = true;
        if (running.has(runner.phase)) lost.ran = true;
      } else if (!runner && lost.listed) {
        this.pending.delete(name); // listed once, gone since (deleted by hand): nothing to settle
      } else if (!runner && lost.armed) {
        this.pending.delete(name);
        absent.push({ name, ...lost });
      } else lost.armed = true;
    }
    return absent;
  }

  /** At the runner's collection: its lost spawn, if it had one (and forgets it). */
  take(name: string): LostSpawn | undefined {
    const lost = this.pending.get(name);
    this.pending.delete(name);
    return lost;
  }

  get size(): number {
    return this.pending.size;
  }
}

/**
 * What a collected runner whose spawn's answer was lost really was: never started and no result
 * from its agent means the spawn failed after all (recorded with the spawn's own message);
 * anything else is the runner's own story. Undefined: record what the collection found.
 */
export function settledAsFailed(lost: LostSpawn | undefined, hasResult: boolean, plannedOutcome: string | undefined): string | undefined {
  if (!lost || lost.ran || hasResult || plannedOutcome !== undefined) return undefined;
  return `${lost.message} (settled at its collection: LXD held the instance but never started it)`;
}
