// Keys (and values) still accepted under an old spelling, so existing files keep working; each use
// is a warning.
import { DEPRECATED_RUNNER_KEYS } from "./pool-schema.js";

/** A warning about the file's data, placed by load.ts. */
export interface DataWarning {
  /** Path of the key in the file's data. */
  path: (string | number)[];
  message: string;
}

export type Deprecation = DataWarning;

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Old keys and values used in the file's data. */
export function findDeprecations(data: unknown): Deprecation[] {
  return [...trustProxyDeprecation(data), ...runnerKeyDeprecations(data)];
}

function runnerKeyDeprecations(data: unknown): Deprecation[] {
  const pools = asRecord(data)?.pools;
  if (!Array.isArray(pools)) return [];
  return pools.flatMap((pool: unknown, index) => {
    const runners = asRecord(asRecord(pool)?.runners) ?? {};
    return Object.entries(DEPRECATED_RUNNER_KEYS)
      .filter(([alias]) => alias in runners)
      .map(([alias, key]) => ({ path: ["pools", index, "runners", alias], message: `deprecated: use runners.${key}` }));
  });
}

/**
 * `trust_proxy: true` once meant "the leftmost X-Forwarded-For entry", which the caller writes
 * itself; it now means one proxy hop (http-schema.ts), which is what a single reverse proxy needs.
 */
function trustProxyDeprecation(data: unknown): Deprecation[] {
  if (asRecord(asRecord(data)?.http)?.trust_proxy !== true) return [];
  const message =
    "deprecated: true is read as 1 (one proxy in front of runnerd; the client is the rightmost X-Forwarded-For entry); " +
    "write 1, or better the proxy's addresses, e.g. [127.0.0.1], so that a request that bypasses the proxy cannot name its own address";
  return [{ path: ["http", "trust_proxy"], message }];
}
