// Durations in the config file: "500ms", "15s", "5m", "6h", or a plain number of seconds.

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** Milliseconds for a duration, or undefined when the value is not one. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  }
  const match = durationPattern.exec(value.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  if (amount === undefined || unit === undefined) return undefined;
  return Math.round(Number(amount) * unitMs[unit as keyof typeof unitMs]);
}

/** The file's spelling of a number of milliseconds, in the largest unit that divides it: 300000 → "5m". */
export function formatDuration(ms: number): string {
  for (const unit of ["h", "m", "s"] as const) {
    if (ms % unitMs[unit] === 0) return `${ms / unitMs[unit]}${unit}`;
  }
  return `${ms}ms`;
}
