// Bounds the runner logs kept on the host (`state_dir/logs/<runner>/`): the newest runners'
// directories within a count and a size, oldest removed first.
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describeError } from "../errors.js";

export interface RunnerLogDir {
  name: string;
  path: string;
  /** The directory's mtime: collect writes its files last, so this is when it was saved. */
  mtimeMs: number;
  bytes: number;
}

export interface RetentionLimits {
  count: number;
  maxBytes: number;
  /** Directories younger than this are never removed: collect may still be writing them. */
  minAgeMs?: number;
  now?: number;
}

export interface RetentionResult {
  removed: string[];
  keptBytes: number;
  /** Directories that could not be removed, with why; they are counted as kept. */
  failed: { name: string; error: string }[];
}

const defaultMinAgeMs = 10_000;

/** Runner log directories, newest first; none when logsDir does not exist. */
export function listRunnerLogDirs(logsDir: string): RunnerLogDir[] {
  let entries;
  try {
    entries = readdirSync(logsDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const dirs: RunnerLogDir[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const path = join(logsDir, entry.name);
    try {
      dirs.push({ name: entry.name, path, mtimeMs: lstatSync(path).mtimeMs, bytes: treeBytes(path) });
    } catch {
      // Removed while we looked: nothing to keep or prune.
    }
  }
  return dirs.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

/**
 * Keeps the newest directories while both bounds hold and removes the rest: once one does not
 * fit, every older one goes too, so what is kept is always "the latest N runners".
 */
export function pruneRunnerLogs(logsDir: string, limits: RetentionLimits): RetentionResult {
  const now = limits.now ?? Date.now();
  const minAgeMs = limits.minAgeMs ?? defaultMinAgeMs;
  const result: RetentionResult = { removed: [], keptBytes: 0, failed: [] };
  let kept = 0;
  let full = false;
  for (const dir of listRunnerLogDirs(logsDir)) {
    const fresh = now - dir.mtimeMs < minAgeMs;
    full ||= kept >= limits.count || result.keptBytes + dir.bytes > limits.maxBytes;
    if (full && !fresh) {
      try {
        rmSync(dir.path, { recursive: true, force: true });
        result.removed.push(dir.name);
        continue;
      } catch (err) {
        result.failed.push({ name: dir.name, error: describeError(err) });
      }
    }
    kept++;
    result.keptBytes += dir.bytes;
  }
  return result;
}

/** Bytes of the regular files under path; symlinks are not followed. */
function treeBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) total += treeBytes(child);
    else if (entry.isFile()) total += lstatSync(child).size;
  }
  return total;
}
