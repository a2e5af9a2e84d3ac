// Reads what the LXD (or Incus) server is and can do (`GET /1.0`), and the host it runs on
// (`GET /1.0/resources`).
import { parseMetadata } from "./response.js";
import { hostResourcesSchema, serverSchema } from "./schema.js";
import type { Transport } from "./transport.js";

export interface ServerInfo {
  /** Which daemon answers: "lxd" or "incus" (`environment.server`; both speak the same API). */
  backend: string;
  apiExtensions: string[];
  serverVersion: string;
  serverName: string;
  storageDrivers: { name: string; version: string }[];
  /** Instance drivers, e.g. "lxc" or "lxc | qemu". */
  driver: string;
  kernelVersion: string;
  /** "trusted" when runnerd may act; "untrusted" when the client certificate is not accepted. */
  auth: string;
  clustered: boolean;
}

export async function getServerInfo(transport: Transport): Promise<ServerInfo> {
  const what = "read LXD server info";
  const res = await transport.request("GET", "/1.0", { what });
  const body = parseMetadata(what, serverSchema, res.kind === "sync" ? res.metadata : undefined);
  const env = body.environment ?? {};
  return {
    backend: env.server ?? "lxd",
    apiExtensions: body.api_extensions,
    serverVersion: env.server_version ?? "",
    serverName: env.server_name ?? "",
    storageDrivers: (env.storage_supported_drivers ?? []).map((d) => ({ name: d.name ?? d.Name ?? "", version: d.version ?? d.Version ?? "" })),
    driver: env.driver ?? "",
    kernelVersion: env.kernel_version ?? "",
    auth: body.auth,
    clustered: env.server_clustered ?? false,
  };
}

/** The host's size as the server sees it (all of a cluster member's CPUs and memory, not a project's quota). */
export interface HostResources {
  /** Logical CPUs (threads). */
  cpus: number;
  memoryBytes: number;
}

export async function getHostResources(transport: Transport, timeoutMs?: number): Promise<HostResources> {
  const what = "read the host's resources";
  const res = await transport.request("GET", "/1.0/resources", { what, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  const body = parseMetadata(what, hostResourcesSchema, res.kind === "sync" ? res.metadata : undefined);
  return { cpus: body.cpu.total, memoryBytes: body.memory.total };
}
