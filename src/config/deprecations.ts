// Keys still accepted under an old name, so existing files keep working; each use is a warning.
import { DEPRECATED_RUNNER_KEYS } from "./pool-schema.js";

export interface Deprecation {
  /** Path of the old key in the file's data. */
  path: (string | number)[];
  message: string;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Old keys used in the file's data, in file order. */
export function findDeprecations(data: unknown): Deprecation[] {
  const pools = asRecord(data)?.pools;
  if (!Array.isArray(pools)) return [];
  return pools.flatMap((pool: unknown, index) => {
    const runners = asRecord(asRecord(pool)?.runners) ?? {};
    return Object.entries(DEPRECATED_RUNNER_KEYS)
      .filter(([alias]) => alias in runners)
      .map(([alias, key]) => ({ path: ["pools", index, "runners", alias], message: `deprecated: use runners.${key}` }));
  });
}
