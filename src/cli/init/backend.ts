// The LXD or Incus init talks to: found as the daemon finds it (lxd/socket-path.ts), its storage
// pools listed, and one created when the operator asks (`POST /1.0/storage-pools` through the
// client's transport: the same socket runnerd will use, whichever CLI is installed).
import { z } from "zod";
import { createLxdClient, detectLxdSocket, type LxdClient } from "../../lxd/index.js";
import { settle } from "../../lxd/operations.js";
import { describeError, UsageError } from "../../errors.js";

export interface StoragePoolInfo {
  name: string;
  driver: string;
}

export interface Backend {
  socket: string;
  /** "lxd" or "incus". */
  kind: string;
  version: string;
  /** The socket runnerd picks when the config names none: then the config need not name it. */
  autoDetected: boolean;
  pools: StoragePoolInfo[];
  client: LxdClient;
}

const poolsSchema = z.array(z.looseObject({ name: z.string(), driver: z.string() }));

/** The backend on `socket` (or the detected one); a message saying why there is none otherwise. */
export async function findBackend(socket: string | undefined): Promise<Backend | { problem: string }> {
  let detected: string | undefined;
  try {
    detected = detectLxdSocket();
  } catch (err) {
    if (socket === undefined) return { problem: describeError(err) };
  }
  const path = socket ?? (detected as string);
  const client = createLxdClient({ socketPath: path, timeoutMs: 10_000 });
  try {
    const info = await client.serverInfo();
    if (info.auth !== "trusted") throw new Error(`the ${info.backend} socket ${path} does not trust this user: run init as root, or as a member of the lxd (incus-admin) group`);
    return { socket: path, kind: info.backend, version: info.serverVersion, autoDetected: path === detected, pools: await listStoragePools(client), client };
  } catch (err) {
    await client.close().catch(() => undefined);
    return { problem: `${path}: ${describeError(err)}` };
  }
}

export async function listStoragePools(client: LxdClient): Promise<StoragePoolInfo[]> {
  const what = "list storage pools";
  const res = await client.transport.request("GET", "/1.0/storage-pools", { what, query: { recursion: 1 } });
  const parsed = poolsSchema.safeParse(res.kind === "sync" ? res.metadata : undefined);
  if (!parsed.success) throw new Error(`${what}: unexpected answer`);
  return parsed.data.map((p) => ({ name: p.name, driver: p.driver }));
}

export async function createStoragePool(client: LxdClient, name: string, driver: string, size: string | undefined): Promise<void> {
  const what = `create storage pool ${name} (${driver}${size ? `, ${size}` : ""})`;
  const res = await client.transport.request("POST", "/1.0/storage-pools", { what, body: { name, driver, config: size ? { size } : {} }, timeoutMs: 120_000 });
  await settle(client.transport, res, { what, timeoutMs: 300_000 });
}

/** copy-on-write drivers: a runner clone costs megabytes, not a full image copy. */
export function isFastDriver(driver: string): boolean {
  return driver === "btrfs" || driver === "zfs";
}

/**
 * The pool the answers name, or the only btrfs/zfs one. Throws naming `lxd.storage_pool` when
 * the named one is missing (and not to be created) or none can be picked.
 */
export function chooseStoragePool(pools: readonly StoragePoolInfo[], wanted: string | undefined, willCreate: boolean): string {
  if (wanted !== undefined) {
    if (willCreate || pools.some((p) => p.name === wanted)) return wanted;
    throw new UsageError(`lxd.storage_pool: ${wanted} does not exist (there are: ${describePools(pools)}); add lxd.create_storage_pool to create it`);
  }
  const fast = pools.filter((p) => isFastDriver(p.driver));
  if (fast.length === 1 && fast[0]) return fast[0].name;
  throw new UsageError(`lxd.storage_pool: required: ${fast.length > 1 ? "several btrfs/zfs pools" : "no btrfs or zfs pool"} to pick from (there are: ${describePools(pools)})`);
}

export function describePools(pools: readonly StoragePoolInfo[]): string {
  return pools.length === 0 ? "none" : pools.map((p) => `${p.name} (${p.driver})`).join(", ");
}
