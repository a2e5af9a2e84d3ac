import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listRunnerLogDirs, pruneRunnerLogs } from "./log-retention.js";

const now = Date.parse("2025-01-01T12:00:00Z");

/** A logs dir with one runner directory per entry: [name, bytes, age in seconds]. */
function logsDir(runners: [string, number, number][]): string {
  const dir = join(mkdtempSync(join(tmpdir(), "runnerd-logs-")), "logs");
  for (const [name, bytes, ageSeconds] of runners) {
    const runner = join(dir, name);
    mkdirSync(join(runner, "diag"), { recursive: true });
    writeFileSync(join(runner, "result.json"), "x".repeat(Math.floor(bytes / 2)));
    writeFileSync(join(runner, "diag", "Runner.log"), "y".repeat(bytes - Math.floor(bytes / 2)));
    const at = (now - ageSeconds * 1000) / 1000;
    utimesSync(runner, at, at);
  }
  return dir;
}

const left = (dir: string) => readdirSync(dir).sort();

describe("pruneRunnerLogs", () => {
  it("keeps the newest runners within the count", () => {
    const dir = logsDir([["a", 10, 400], ["b", 10, 300], ["c", 10, 200], ["d", 10, 100]]);
    expect(pruneRunnerLogs(dir, { count: 2, maxBytes: 1000, now })).toEqual({ removed: ["b", "a"], keptBytes: 20, failed: [] });
    expect(left(dir)).toEqual(["c", "d"]);
    expect(pruneRunnerLogs(dir, { count: 2, maxBytes: 1000, now }).removed).toEqual([]);
  });

  it("keeps the newest runners within the size, counting nested files", () => {
    const dir = logsDir([["a", 100, 400], ["b", 300, 300], ["c", 100, 200], ["d", 250, 100]]);
    const result = pruneRunnerLogs(dir, { count: 10, maxBytes: 400, now });
    // c and d fit (350 bytes); b does not, and a goes with it although it would fit.
    expect(result).toEqual({ removed: ["b", "a"], keptBytes: 350, failed: [] });
    expect(left(dir)).toEqual(["c", "d"]);
  });

  it("never removes a directory still being written, even past the bounds", () => {
    const dir = logsDir([["old", 10, 3600], ["new", 500, 2]]);
    expect(pruneRunnerLogs(dir, { count: 0, maxBytes: 100, now })).toEqual({ removed: ["old"], keptBytes: 500, failed: [] });
    expect(left(dir)).toEqual(["new"]);
    expect(pruneRunnerLogs(dir, { count: 0, maxBytes: 100, now: now + 60_000 }).removed).toEqual(["new"]);
  });

  it("ignores loose files and symlinks, and a missing directory", () => {
    const dir = logsDir([["a", 10, 100]]);
    writeFileSync(join(dir, "stray.txt"), "z".repeat(1000));
    symlinkSync("/etc", join(dir, "a", "etc"));
    symlinkSync(join(dir, "a"), join(dir, "link"));
    utimesSync(join(dir, "a"), (now - 100_000) / 1000, (now - 100_000) / 1000);
    expect(listRunnerLogDirs(dir).map((d) => [d.name, d.bytes])).toEqual([["a", 10]]);
    expect(pruneRunnerLogs(dir, { count: 0, maxBytes: 1, now }).removed).toEqual(["a"]);
    expect(existsSync("/etc")).toBe(true);
    expect(left(dir)).toEqual(["link", "stray.txt"]);
    expect(pruneRunnerLogs(join(dir, "missing"), { count: 1, maxBytes: 1 })).toEqual({ removed: [], keptBytes: 0, failed: [] });
  });
});
