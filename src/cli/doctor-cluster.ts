// `runnerd doctor` on a cluster: each member's state, its share of the storage pool (driver, state,
// space) and its kernel, read through the member runnerd talks to with `target=` (LXD and Incus
// forward such a request to the member).
import { z } from "zod";
import type { Config } from "../config/index.js";
import { describeError } from "../errors.js";
import type { ConnectedLxd } from "../lxd/connect.js";
import { gib } from "./output.js";

/** One line of `runnerd doctor`'s report. */
export interface Check {
  level: "ok" | "warn" | "fail";
  message: string;
}

const poolSchema = z.looseObject({ driver: z.string(), status: z.string().optional() });
const resourcesSchema = z.looseObject({ space: z.looseObject({ used: z.number().optional(), total: z.number().optional() }).optional() });
const serverSchema = z.looseObject({ environment: z.looseObject({ kernel_version: z.string().optional() }).optional() });

export async function checkClusterMembers(lxd: ConnectedLxd, config: Config): Promise<Check[]> {
  if (!lxd.server.clustered) return [];
  const checks: Check[] = [];
  let members;
  try {
    members = await lxd.client.clusterMembers();
  } catch (err) {
    return [{ level: "fail", message: `cluster: cannot list the members: ${describeError(err)}` }];
  }
  const online = members.filter((m) => m.status === "Online").length;
  checks.push({ level: online === members.length ? "ok" : "warn", message: `cluster: ${members.length} members, ${online} online${config.cluster.max_runners_per_member ? `; at most ${config.cluster.max_runners_per_member} runners each` : ""}` });
  for (const m of members) {
    if (m.status !== "Online") {
      checks.push({ level: m.status === "Evacuated" ? "warn" : "fail", message: `member ${m.name}: ${m.status}${m.message ? ` (${m.message})` : ""}: gets no runners` });
      continue;
    }
    checks.push(await memberDetail(lxd, config.lxd.storage_pool, m.name));
  }
  return checks;
}

async function memberDetail(lxd: ConnectedLxd, poolName: string, member: string): Promise<Check> {
  const get = async <T>(path: string, schema: z.ZodType<T>): Promise<T> => {
    const res = await lxd.client.transport.request("GET", path, { what: `read ${path} on member ${member}`, query: { target: member }, timeoutMs: 15_000 });
    return schema.parse(res.kind === "sync" ? res.metadata : undefined);
  };
  try {
    const [pool, resources, server] = await Promise.all([
      get(`/1.0/storage-pools/${encodeURIComponent(poolName)}`, poolSchema),
      get(`/1.0/storage-pools/${encodeURIComponent(poolName)}/resources`, resourcesSchema).catch(() => undefined),
      get("/1.0", serverSchema),
    ]);
    const space = resources?.space?.total ? `, ${gib(resources.space.used ?? 0)} used of ${gib(resources.space.total)}` : "";
    const state = pool.status && pool.status !== "Created" ? ` (${pool.status})` : "";
    const level = pool.driver === "dir" || state ? "warn" : "ok";
    return { level, message: `member ${member}: online, storage pool ${poolName} ${pool.driver}${state}${space}, kernel ${server.environment?.kernel_version ?? "?"}` };
  } catch (err) {
    return { level: "fail", message: `member ${member}: ${describeError(err)}` };
  }
}
