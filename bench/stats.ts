// Shared by the benchmarks: percentiles of a sample, stopping the daemon child they run, and
// writing their results where the README's figures are taken from.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot } from "../test/support/lxd-harness.js";

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

/** Writes a benchmark's result as JSON to `out` (relative to the repository, under test-results/). */
export function writeResult(out: string, result: unknown): void {
  const file = join(repoRoot, out);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}
