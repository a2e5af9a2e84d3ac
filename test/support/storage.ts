// Reading a storage pool's used space in a way two readings can be compared: btrfs frees deleted
// subvolumes in the background (and LXD deletes image volumes and builders shortly before), so
// wait for that, then read until two readings agree.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { backendSocket } from "../../src/cli/demo/lxd-host.js";
import type { LxdClient } from "../../src/lxd/index.js";

const run = promisify(execFile);
const MiB = 1_048_576;

/**
 * Where the host mounts the backend's btrfs pool (deb, snap or Incus layouts alike): below the
 * directory of its socket, since LXD and Incus side by side each have a pool of this name.
 */
export function btrfsMountOf(pool: string, daemonDir = dirname(backendSocket())): string | undefined {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [left, right] = line.split(" - ");
    const mount = left?.split(" ")[4];
    if (right?.startsWith("btrfs ") && mount === `${daemonDir}/storage-pools/${pool}`) return mount;
  }
  return undefined;
}

export async function settledStorageUsed(lxd: LxdClient, pool: string, timeoutMs = 180_000): Promise<number> {
  const mount = btrfsMountOf(pool);
  if (mount) {
    await run("btrfs", ["subvolume", "sync", mount], { timeout: timeoutMs });
    await run("btrfs", ["filesystem", "sync", mount]);
  }
  const deadline = Date.now() + timeoutMs;
  let last = (await lxd.storagePoolResources(pool)).space.used;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const now = (await lxd.storagePoolResources(pool)).space.used;
    if (Math.abs(now - last) < MiB) return now;
    if (Date.now() > deadline) throw new Error(`storage pool ${pool}: used space still changing after ${timeoutMs} ms`);
    last = now;
  }
}
