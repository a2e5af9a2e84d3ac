// Storage pools: whether the configured pool exists and how full it is.
import { isNotFound, parseMetadata } from "./response.js";
import { storagePoolResourcesSchema, storagePoolSchema } from "./schema.js";
import type { Transport } from "./transport.js";

export interface StoragePool {
  name: string;
  driver: string;
  config: Record<string, string>;
  /** "Created" when usable; "Pending"/"Errored" in clusters mid-setup. */
  status: string;
}

export interface StoragePoolResources {
  space: { used: number; total: number };
}

export async function getStoragePool(t: Transport, name: string): Promise<StoragePool | null> {
  const what = `read storage pool ${name}`;
  try {
    const res = await t.request("GET", poolPath(name), { what });
    const body = parseMetadata(what, storagePoolSchema, res.kind === "sync" ? res.metadata : undefined);
    return { name: body.name, driver: body.driver, config: body.config ?? {}, status: body.status ?? "" };
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export async function getStoragePoolResources(t: Transport, name: string): Promise<StoragePoolResources> {
  const what = `read resources of storage pool ${name}`;
  const res = await t.request("GET", `${poolPath(name)}/resources`, { what });
  const body = parseMetadata(what, storagePoolResourcesSchema, res.kind === "sync" ? res.metadata : undefined);
  return { space: { used: body.space.used ?? 0, total: body.space.total } };
}

function poolPath(name: string): string {
  return `/1.0/storage-pools/${encodeURIComponent(name)}`;
}
