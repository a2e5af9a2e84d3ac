// Reads what a job with root in a runner instance can read of every other process there: the
// command line, the environment and every readable private mapping of its memory (heap, stack,
// data, anonymous maps) through /proc/<pid>/mem, as `sudo` in a job can. Runs under busybox sh.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { backendCli } from "../../src/cli/demo/lxd-host.js";

const run = promisify(execFile);

// $1: a nonce that starts each section's header (only this script's own process holds it, and
// that process is skipped). File-backed read-only and executable maps are left out: program text.
const SCAN = `
nonce=$1
for d in /proc/[0-9]*; do
  p=\${d#/proc/}
  [ "$p" = "$$" ] && continue
  [ -r "$d/maps" ] || continue
  printf '\\n%s %s cmdline\\n' "$nonce" "$p"; cat "$d/cmdline" 2>/dev/null
  printf '\\n%s %s environ\\n' "$nonce" "$p"; cat "$d/environ" 2>/dev/null
  printf '\\n%s %s mem\\n' "$nonce" "$p"
  while read -r range perms _off _dev _inode path; do
    case $perms in r*) ;; *) continue ;; esac
    case $path in '[vvar]' | '[vsyscall]' | '[vvar_vclock]') continue ;; esac
    case $perms in rw*) ;; *) case $path in '' | '['*) ;; *) continue ;; esac ;; esac
    s=$((0x\${range%-*}))
    e=$((0x\${range#*-}))
    dd if="$d/mem" bs=4096 skip=$((s / 4096)) count=$(((e - s) / 4096)) 2>/dev/null
  done <"$d/maps"
done
`;

export interface ScannedProcess {
  pid: number;
  /** argv joined with spaces */
  cmdline: string;
  environ: Buffer;
  mem: Buffer;
}

export async function scanProcesses(instance: string): Promise<ScannedProcess[]> {
  const nonce = `@@scan-${randomBytes(8).toString("hex")}@@`;
  const { stdout } = await run(backendCli(), ["exec", instance, "--", "sh", "-c", SCAN, "scan", nonce], { encoding: "buffer", maxBuffer: 1024 * 1024 * 1024 });
  const marker = Buffer.from(`\n${nonce} `);
  const byPid = new Map<number, ScannedProcess>();
  let at = stdout.indexOf(marker);
  while (at >= 0) {
    const headerEnd = stdout.indexOf("\n", at + marker.length);
    const [pid, part] = stdout.subarray(at + marker.length, headerEnd).toString().split(" ");
    const next = stdout.indexOf(marker, headerEnd);
    const body = stdout.subarray(headerEnd + 1, next < 0 ? stdout.length : next);
    const proc = byPid.get(Number(pid)) ?? { pid: Number(pid), cmdline: "", environ: Buffer.alloc(0), mem: Buffer.alloc(0) };
    if (part === "cmdline") proc.cmdline = body.toString().split("\0").join(" ").trim();
    else if (part === "environ") proc.environ = body;
    else proc.mem = body;
    byPid.set(proc.pid, proc);
    at = next;
  }
  return [...byPid.values()];
}

/** Where a secret shows: as bytes (shells, the fake runner) or as UTF-16 (.NET strings). */
export function whereFound(proc: ScannedProcess, secret: string): ("cmdline" | "environ" | "mem")[] {
  const needles = [Buffer.from(secret, "utf8"), Buffer.from(secret, "utf16le")];
  const has = (b: Buffer | string) => needles.some((n) => (typeof b === "string" ? Buffer.from(b) : b).includes(n));
  return [...(has(proc.cmdline) ? ["cmdline" as const] : []), ...(has(proc.environ) ? ["environ" as const] : []), ...(has(proc.mem) ? ["mem" as const] : [])];
}
