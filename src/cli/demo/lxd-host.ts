// What `runnerd demo` (and, through the test harness, the tests and benches) needs of the host:
// a usable LXD (or Incus, RUNNERD_BACKEND=incus) with the storage pool, the busybox runner image,
// and ways to wait.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { createLxdClient, defaultSocketCandidates, detectLxdSocket, instanceNameFromLifecycle, isInstanceStopEvent, type EventSubscription, type LxdClient } from "../../lxd/index.js";

const run = promisify(execFile);
const busyboxImageScript = join("src", "emulator", "images", "build-busybox-image.sh");

/** The checkout's root, found from here whether running from src/ or a build (dist/src/, dist-dev/src/). */
export const repoRoot = findRepoRoot(import.meta.dirname);

function findRepoRoot(start: string): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, busyboxImageScript))) return dir;
  }
  throw new Error(`cannot find the runnerd checkout above ${start}`);
}

/** Which daemon the demo and the tests use: RUNNERD_BACKEND=lxd (the default) or incus. */
export function backend(): "lxd" | "incus" {
  const value = process.env.RUNNERD_BACKEND;
  if (value === undefined || value === "" || value === "lxd") return "lxd";
  if (value === "incus") return "incus";
  throw new Error(`RUNNERD_BACKEND=${value}: expected lxd or incus`);
}

/** The backend's command-line client (the image scripts read RUNNERD_BACKEND themselves). */
export function backendCli(): string {
  return backend() === "incus" ? "incus" : "lxc";
}

/**
 * The backend's socket: RUNNERD_LXD_SOCKET when set, else where the packages put it. LXD and Incus
 * may run side by side, so each backend looks only at its own places.
 */
export function backendSocket(): string {
  if (process.env.RUNNERD_LXD_SOCKET) return detectLxdSocket([process.env.RUNNERD_LXD_SOCKET]);
  const incus = (path: string) => path.includes("/incus/");
  const wantIncus = backend() === "incus";
  return detectLxdSocket(defaultSocketCandidates.filter((path) => wantIncus === incus(path)));
}

/** The busybox runner image's alias; its fake runner talks to the GitHub emulator. */
export const busyboxImage = "runnerd-test/busybox";
/** The storage pool scripts/setup-lxd.sh (and setup-incus.sh) creates. */
export const storagePool = process.env.RUNNERD_TEST_POOL ?? "runnerd-test";

/** Why LXD cannot be used here, or undefined when it can. */
export async function lxdUnavailableReason(): Promise<string | undefined> {
  let socketPath: string;
  try {
    socketPath = backendSocket();
  } catch (err) {
    return (err as Error).message;
  }
  const client = createLxdClient({ socketPath, timeoutMs: 5000 });
  try {
    await client.serverInfo();
    if (!(await client.getStoragePool(storagePool))) return `storage pool ${storagePool} is missing (run scripts/setup-${backend()}.sh)`;
    return undefined;
  } catch (err) {
    return `${backend() === "incus" ? "Incus" : "LXD"} at ${socketPath} does not answer: ${(err as Error).message}`;
  } finally {
    await client.close();
  }
}

/** Builds the busybox image, or finds it current (the script compares a hash of its recipe). */
export async function ensureBusyboxImage(): Promise<void> {
  await run("bash", [join(repoRoot, busyboxImageScript), busyboxImage], { maxBuffer: 16 * 1024 * 1024 });
}

/** Records when LXD first reported each instance stopped (ms since the epoch), for latency figures. */
export function watchStops(lxd: LxdClient): { stops: Map<string, number>; events: EventSubscription } {
  const stops = new Map<string, number>();
  const events = lxd.subscribeEvents({
    types: ["lifecycle"],
    onEvent: (event) => {
      const name = event.type === "lifecycle" ? instanceNameFromLifecycle(event) : undefined;
      if (event.type === "lifecycle" && name && isInstanceStopEvent(event) && !stops.has(name)) stops.set(name, Date.now());
    },
  });
  return { stops, events };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
