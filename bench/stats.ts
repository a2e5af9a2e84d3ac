// Shared by the benchmarks: percentiles of a sample, and stopping the daemon child they run.
import type { ChildProcess } from "node:child_process";

export function summary(values: number[]): { n: number; p50: number; p95: number; min: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
  return { n: s.length, p50: at(50), p95: at(95), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}

/** SIGTERM (a clean runnerd shutdown) and wait for the exit. */
export async function stopDaemon(daemon: ChildProcess | undefined): Promise<void> {
  if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null) return;
  daemon.kill("SIGTERM");
  await new Promise((resolve) => daemon.once("exit", resolve));
}
