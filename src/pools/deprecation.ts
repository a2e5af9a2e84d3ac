// Pools whose image holds a runner version GitHub refuses ("Runner version v2.313.0 is deprecated
// and cannot receive messages", actions/runner#3266): every runner made from it is refused right
// after it listens, so the pool spawns nothing more from that image. Spawning resumes when the
// pool's image (its alias) points at another fingerprint: an image build moved it, or the
// configuration names another image. Memory only: after a restart the first refused runner
// blocks the pool again.
import type { PoolRuntime } from "./settings.js";

export interface Deprecation {
  /** The fingerprint the refused runner was made from; undefined until known (then the pool's image at the next pass). */
  fingerprint?: string;
  runner: string;
  at: number;
  /** The refused actions/runner version, when the runner said. */
  version?: string;
  /** What the operator should do (or what runnerd does), for status, the status page and events. */
  message: string;
}

/**
 * What a pool's deprecation becomes once the pool's image resolves to `current`: kept while the
 * image is the refused one (or cannot be read), adopted when the refused fingerprint was not
 * known yet, cleared when the image points elsewhere.
 */
export function deprecationAfter(blocked: string | undefined, current: string | undefined): "keep" | "adopt" | "clear" {
  if (current === undefined) return "keep";
  if (blocked === undefined) return "adopt";
  return current.startsWith(blocked) || blocked.startsWith(current) ? "keep" : "clear";
}

/** The status line of a blocked pool: what to run, or that auto_rebuild is on it. */
export function deprecationMessage(pool: Pick<PoolRuntime, "image" | "builtImage">, version: string | undefined): string {
  const what = `actions/runner${version ? ` ${version}` : ""} in ${pool.image} is deprecated: GitHub refuses its runners`;
  if (!pool.builtImage) return `${what}; rebuild the image with a newer actions/runner (spawning resumes when ${pool.image} points at a new image)`;
  if (pool.builtImage.autoRebuild) return `${what}; auto_rebuild is building ${pool.image} with the newest actions/runner (spawning resumes when it is published)`;
  return `${what}; run 'runnerd image build ${pool.builtImage.name}' (spawning resumes when ${pool.image} moves)`;
}

export class DeprecatedPools {
  private readonly byPool = new Map<string, Deprecation>();

  /** Records a refused runner; true when this blocks the pool anew (not already blocked for that image). */
  note(pool: string, entry: Deprecation): boolean {
    const known = this.byPool.get(pool);
    if (known && deprecationAfter(known.fingerprint, entry.fingerprint) === "keep") return false;
    this.byPool.set(pool, entry);
    return true;
  }

  /**
   * Applies where each configured pool's image points now (undefined: not known this pass);
   * forgets pools no longer configured; returns the pools whose block this ended.
   */
  settle(pools: readonly string[], current: (pool: string) => string | undefined): string[] {
    const cleared: string[] = [];
    for (const [pool, entry] of this.byPool) {
      if (!pools.includes(pool)) {
        this.byPool.delete(pool);
        continue;
      }
      const decision = deprecationAfter(entry.fingerprint, current(pool));
      if (decision === "adopt") entry.fingerprint = current(pool);
      if (decision === "clear") cleared.push(pool);
    }
    for (const pool of cleared) this.byPool.delete(pool);
    return cleared;
  }

  get(pool: string): Deprecation | undefined {
    return this.byPool.get(pool);
  }

  blocked(): Set<string> {
    return new Set(this.byPool.keys());
  }
}
