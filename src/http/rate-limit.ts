// Sliding-window counters per key (a caller's repository, a client address): at most `limit`
// hits in any `windowMs`. In memory: a restart forgets them, which only ever lets callers in.

export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly rule: RateLimitRule,
    private readonly now: () => number,
    /** Bound on tracked keys; the longest-untouched key is dropped first. */
    private readonly maxKeys = 10_000,
  ) {}

  /** Milliseconds until `key` may hit again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const recent = this.recent(key);
    if (recent.length < this.rule.limit) return 0;
    const oldest = recent[recent.length - this.rule.limit] ?? this.now();
    return Math.max(1, oldest + this.rule.windowMs - this.now());
  }

  /** Counts one hit for `key`, whether or not it was over the limit. */
  hit(key: string): void {
    const recent = this.recent(key);
    recent.push(this.now());
    // Only the last `limit` hits decide anything.
    if (recent.length > this.rule.limit) recent.splice(0, recent.length - this.rule.limit);
    this.hits.delete(key);
    this.hits.set(key, recent);
    while (this.hits.size > this.maxKeys) {
      const stalest = this.hits.keys().next().value;
      if (stalest === undefined) break;
      this.hits.delete(stalest);
    }
  }

  /** Counts a hit when allowed and answers 0; otherwise counts nothing and answers the wait. */
  take(key: string): number {
    const wait = this.retryAfterMs(key);
    if (wait === 0) this.hit(key);
    return wait;
  }

  private recent(key: string): number[] {
    const from = this.now() - this.rule.windowMs;
    const kept = (this.hits.get(key) ?? []).filter((t) => t > from);
    if (kept.length === 0) this.hits.delete(key);
    return kept;
  }
}
