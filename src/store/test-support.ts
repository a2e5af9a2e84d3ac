// Helpers for the store's unit tests: a fresh state directory and a clock the test moves.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function makeStateDir(): string {
  return join(mkdtempSync(join(tmpdir(), "runnerd-store-")), "state");
}

export function makeClock(start = Date.parse("2025-01-01T00:00:00Z")): { now: () => Date; advance: (ms: number) => void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}
