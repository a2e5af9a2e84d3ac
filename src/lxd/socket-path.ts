// Finds the local LXD (or Incus) unix socket among the places the common packages put it.
import { statSync } from "node:fs";
import { LxdError } from "../errors.js";

/** Debian/Ubuntu deb, snap, Incus — in that order, because runnerd is tested on the deb. */
export const defaultSocketCandidates: readonly string[] = [
  "/var/lib/lxd/unix.socket",
  "/var/snap/lxd/common/lxd/unix.socket",
  "/var/lib/incus/unix.socket",
];

/** The first candidate that exists and is a socket; throws listing every path tried. */
export function detectLxdSocket(candidates: readonly string[] = defaultSocketCandidates): string {
  for (const path of candidates) {
    try {
      if (statSync(path).isSocket()) return path;
    } catch {
      // Missing or unreadable: try the next one; the error below lists them all.
    }
  }
  throw new LxdError(`find LXD socket: none of ${candidates.join(", ")} exists; is LXD or Incus installed and running?`, 0);
}
