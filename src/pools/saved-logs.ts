// Reads one runner's saved logs (`state_dir/logs/<runner>/`, written by collect.ts): result.json
// next to logs.tar.gz (agent.log, runner.log, diag/...), or loose agent.log/runner.log when the
// agent never bundled them. The archive is read with tar, which every Debian host has.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

export const logArchiveName = "logs.tar.gz";

export interface SavedLogs {
  /** Files by their name in the archive or directory: result.json, agent.log, diag/Runner_x.log. */
  files: string[];
  /** null when the file is not there. */
  read(file: string): Buffer | null;
  /** Why some files may be missing, e.g. a truncated archive. */
  problems: string[];
}

// Diag logs of a long job reach tens of MiB.
const maxBuffer = 512 * 1024 * 1024;

export function openSavedLogs(dir: string): SavedLogs {
  const problems: string[] = [];
  const loose = looseFiles(dir).filter((f) => f !== logArchiveName);
  const archive = join(dir, logArchiveName);
  // Archive members by their name without a leading "./", to the name tar knows them by.
  const members = new Map<string, string>();
  if (existsSync(archive)) {
    try {
      for (const member of tar(["-tzf", archive]).toString("utf8").split("\n")) {
        if (member !== "" && !member.endsWith("/")) members.set(member.replace(/^\.\//, ""), member);
      }
    } catch (err) {
      problems.push(`${logArchiveName} could not be read: ${tarError(err)}`);
    }
  }
  const files = [...new Set([...loose, ...members.keys()])].sort(byLogOrder);
  return {
    files,
    problems,
    read(file) {
      if (loose.includes(file)) return readFileSync(join(dir, file));
      const member = members.get(file);
      if (member === undefined) return null;
      try {
        return tar(["-xzOf", archive, "--", member]);
      } catch (err) {
        problems.push(`${file} could not be extracted from ${logArchiveName}: ${tarError(err)}`);
        return null;
      }
    },
  };
}

function tar(args: string[]): Buffer {
  return execFileSync("tar", args, { maxBuffer, stdio: ["ignore", "pipe", "pipe"] });
}

function tarError(err: unknown): string {
  const stderr = (err as { stderr?: Buffer }).stderr?.toString("utf8").trim();
  return stderr || (err instanceof Error ? err.message : String(err));
}

function looseFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

// result.json, agent.log, runner.log first (the order an operator reads them in), diag after.
const firstFiles = ["result.json", "agent.log", "runner.log"];
function byLogOrder(a: string, b: string): number {
  const rank = (f: string) => (firstFiles.includes(f) ? firstFiles.indexOf(f) : firstFiles.length);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}
