// Remembers token ids (jti) until their token expires, so each OIDC token is accepted once.
// After expiry the token's `exp` refuses it anyway, so nothing needs keeping longer.

export interface ReplayCacheOptions {
  /** Upper bound on remembered ids; beyond it the soonest-expiring are forgotten first. */
  maxEntries?: number;
}

export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private readonly maxEntries: number;
  private prunedAt = 0;

  constructor(options: ReplayCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** False when `id` was seen before and is still remembered; else remembers it until `keepUntilMs`. */
  remember(id: string, keepUntilMs: number, nowMs: number): boolean {
    this.prune(nowMs);
    const until = this.seen.get(id);
    if (until !== undefined && until > nowMs) return false;
    this.seen.set(id, keepUntilMs);
    // Any valid token of any repository lands here: bound the memory. GitHub tokens live five
    // minutes, so entries arrive in nearly expiry order and the oldest insertions go first.
    while (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  /** A full sweep at most once a second: the lookup itself also checks expiry. */
  private prune(nowMs: number): void {
    if (nowMs - this.prunedAt < 1000) return;
    this.prunedAt = nowMs;
    for (const [id, until] of this.seen) {
      if (until <= nowMs) this.seen.delete(id);
    }
  }
}
