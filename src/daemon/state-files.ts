// Small files in state_dir that let the CLI find and read the running daemon: a pid file (to
// signal it) and status.json (what its last pass saw). Neither holds a secret.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ReconcilerStatus } from "../pools/reconciler.js";
import type { CredentialHealth } from "../credentials/health.js";
import type { GitHubConnectionReport } from "../github/report.js";
import type { SweepReport } from "../pools/registration-sweeper.js";
import type { ImageReport } from "../images/runner-updates.js";

export interface DaemonStatusFile extends ReconcilerStatus {
  version: 1;
  pid: number;
  startedAt: number;
  configPath: string;
  /** Runner images and how current their actions/runner is (absent before the first check). */
  images?: ImageReport[];
  /** Per scope: the runner credential's health (token expiry, late pushes, PAT expiry, API budget). */
  credentials?: CredentialHealth[];
  github?: GitHubConnectionReport[];
  sweep?: SweepReport;
  /** runnerd's HTTP server, once listening. */
  http?: { url: string };
}

export function pidFilePath(stateDir: string): string {
  return join(stateDir, "runnerd.pid");
}

export function statusFilePath(stateDir: string): string {
  return join(stateDir, "status.json");
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of a live daemon using this state dir, if any. */
export function runningDaemonPid(stateDir: string): number | undefined {
  const file = pidFilePath(stateDir);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : undefined;
}

/** Claims the state dir for this process; refuses when another live daemon holds it. */
export function claimPidFile(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const other = runningDaemonPid(stateDir);
  if (other !== undefined) throw new Error(`another runnerd daemon (pid ${other}) is using ${stateDir}`);
  writeFileSync(pidFilePath(stateDir), `${process.pid}\n`, { mode: 0o644 });
}

export function releasePidFile(stateDir: string): void {
  const file = pidFilePath(stateDir);
  if (existsSync(file) && readFileSync(file, "utf8").trim() === String(process.pid)) rmSync(file);
}

/** Asks the daemon for an immediate pass (after a token push, a manual delete). */
export function nudgeDaemon(stateDir: string): boolean {
  const pid = runningDaemonPid(stateDir);
  if (pid === undefined) return false;
  process.kill(pid, "SIGUSR1");
  return true;
}

export function writeStatusFile(stateDir: string, status: DaemonStatusFile): void {
  const file = statusFilePath(stateDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(status), { mode: 0o640 });
  renameSync(tmp, file);
}

export function readStatusFile(stateDir: string): DaemonStatusFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(statusFilePath(stateDir), "utf8")) as DaemonStatusFile;
    return parsed.version === 1 ? parsed : undefined;
  } catch {
    return undefined;
  }
}
