// Cluster members (`GET /1.0/cluster/members`): who they are, their state and their groups.
// On a server that is not clustered LXD and Incus answer with an empty list (or 404 on an old
// server), which reads as "no members": one host.
import { z } from "zod";
import { isNotFound, parseMetadata } from "./response.js";
import type { Transport } from "./transport.js";

/** Online, Offline, Evacuated, or another state a newer server may add (Blocked, Evacuating). */
export type MemberStatus = "Online" | "Offline" | "Evacuated" | (string & {});

export interface ClusterMember {
  name: string;
  status: MemberStatus;
  /** The server's explanation ("Fully operational", "No heartbeat for 25s …"). */
  message: string;
  /** Cluster groups it belongs to (extension `clustering_groups`; every member is in "default"). */
  groups: string[];
  url: string;
}

const memberSchema = z.looseObject({
  server_name: z.string(),
  status: z.string(),
  message: z.string().optional(),
  groups: z.array(z.string()).nullish(),
  url: z.string().optional(),
});

export async function listClusterMembers(t: Transport, timeoutMs?: number): Promise<ClusterMember[]> {
  const what = "list cluster members";
  try {
    const res = await t.request("GET", "/1.0/cluster/members", { what, query: { recursion: 1 }, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    const bodies = parseMetadata(what, z.array(memberSchema).nullable(), res.kind === "sync" ? res.metadata : undefined) ?? [];
    return bodies.map((m) => ({ name: m.server_name, status: m.status, message: m.message ?? "", groups: m.groups ?? [], url: m.url ?? "" }));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}
