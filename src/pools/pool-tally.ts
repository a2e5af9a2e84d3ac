// What a pass counts of one pool's runners while it plans (plan.ts, trim.ts, share-slots.ts).
import type { ObservedRunner, PoolSpec } from "./types.js";

export interface PoolTally {
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
