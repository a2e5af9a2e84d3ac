// What GitHub's answers say about our budget: the x-ratelimit-* headers of the last answer per
// credential, request counts, and a PAT's expiry. Shown by `doctor` and `status`; never secrets.

export interface RateLimitSnapshot {
  /** `pat`, `app` (JWT calls) or `installation:<id>`. */
  credential: string;
  limit: number;
  remaining: number;
  used: number;
  /** When the window resets, ms since the epoch. */
  resetAt: number;
  resource: string;
  /** When these headers were read, ms since the epoch. */
  observedAt: number;
}

export interface RequestCount {
  /** `METHOD /route/{template}`. */
  route: string;
  status: number;
  count: number;
}

type Headers = Record<string, string | number | undefined>;

export class RateLimitTracker {
  private readonly limits = new Map<string, RateLimitSnapshot>();
  private readonly counts = new Map<string, RequestCount>();
  private tokenExpiresAt: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Called with every answer, successful or not. */
  record(credential: string, route: string, status: number, headers: Headers | undefined): void {
    const key = `${route} ${status}`;
    const count = this.counts.get(key) ?? { route, status, count: 0 };
    count.count++;
    this.counts.set(key, count);
    if (!headers) return;
    const limit = Number(headers["x-ratelimit-limit"]);
    const remaining = Number(headers["x-ratelimit-remaining"]);
    if (Number.isFinite(limit) && Number.isFinite(remaining) && headers["x-ratelimit-limit"] !== undefined) {
      this.limits.set(credential, {
        credential,
        limit,
        remaining,
        used: Number(headers["x-ratelimit-used"] ?? limit - remaining),
        resetAt: Number(headers["x-ratelimit-reset"] ?? 0) * 1000,
        resource: String(headers["x-ratelimit-resource"] ?? "core"),
        observedAt: this.now(),
      });
    }
    // Fine-grained and expiring classic PATs announce their end: "2026-12-31 12:00:00 UTC".
    const expiration = headers["github-authentication-token-expiration"];
    if (typeof expiration === "string") {
      const at = Date.parse(expiration.replace(" UTC", "Z").replace(" ", "T"));
      if (Number.isFinite(at)) this.tokenExpiresAt = at;
    }
  }

  snapshots(): RateLimitSnapshot[] {
    return [...this.limits.values()].sort((a, b) => a.credential.localeCompare(b.credential));
  }

  requests(): RequestCount[] {
    return [...this.counts.values()].sort((a, b) => a.route.localeCompare(b.route) || a.status - b.status);
  }

  /** Total requests sent so far. */
  total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c.count;
    return n;
  }

  /** The PAT's announced expiry, if GitHub sent one. */
  credentialExpiresAt(): number | undefined {
    return this.tokenExpiresAt;
  }
}
