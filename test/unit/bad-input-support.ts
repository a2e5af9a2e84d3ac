// Helpers shared by the bad-input corpus (bad-input-corpus*.test.ts): a logger whose lines a test
// reads, a snapshot of a directory to show that a refused input changed nothing on disk, and a
// marker that a refusal must never quote back.
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Writable } from "node:stream";
import type { Logger } from "pino";
import { createLogger } from "../../src/log.js";

/** Put into bad inputs where a token or a caller's text would go: no answer may repeat it. */
export const MARKER = "MARKERq7Zx93";

export interface CapturedLogger {
  logger: Logger;
  text(): string;
  records(): Record<string, unknown>[];
}

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter((line) => line !== ""));
      done();
    },
  });
  return {
    logger: createLogger("debug", sink),
    text: () => lines.join("\n"),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const made: string[] = [];

/** A new directory under the system's temp dir; removeTempDirs() removes all of them. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `runnerd-bad-input-${prefix}-`));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Every file under `dir` with a hash of its content. SQLite's `-wal` and `-shm` files are left
 * out: a reader may create and remove them without changing what the database holds.
 */
export function snapshotDir(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!/-(wal|shm)$/.test(name)) files[relative(dir, path)] = createHash("sha256").update(readFileSync(path)).digest("hex");
    }
  };
  walk(dir);
  return files;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
