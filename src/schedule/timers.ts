// Node's timers hold a signed 32-bit delay: above 2^31-1 ms (24.8 days) setTimeout and
// setInterval warn (TimeoutOverflowWarning) and fire after 1 ms. Every delay that comes from the
// configuration or from a runner's instance goes through here first.

/** The longest delay setTimeout and setInterval honour, in ms. */
export const maxTimerMs = 2 ** 31 - 1;

/**
 * A delay setTimeout keeps: at least `floorMs`, at most `capMs` (never above `maxTimerMs`); a
 * value that is not a finite number (NaN from a garbled time) waits the cap.
 */
export function timerDelay(ms: number, capMs: number = maxTimerMs, floorMs = 0): number {
  const cap = Math.min(Number.isFinite(capMs) && capMs > 0 ? capMs : maxTimerMs, maxTimerMs);
  if (!Number.isFinite(ms)) return cap;
  return Math.min(cap, Math.max(floorMs, ms));
}
