// The status page's snapshot: the reconciler's last pass, recent jobs, credential health and the
// storage pool's usage (read from LXD at most every 10 s, since browsers poll).
import type { Config } from "../config/index.js";
import type { CredentialHealth } from "../credentials/health.js";
import type { StatusPageData } from "../http/status-page.js";
import type { LxdClient } from "../lxd/index.js";
import type { Reconciler } from "../pools/reconciler.js";
import type { Store } from "../store/index.js";

export interface StatusPageSources {
  config(): Config;
  reconciler: Pick<Reconciler, "status">;
  store: Pick<Store, "listJobs">;
  lxd: Pick<LxdClient, "storagePoolResources">;
  /** The daemon's one credential-health snapshot. */
  credentials(): CredentialHealth[];
  now(): number;
  startedAt: number;
}

let storageCache: { at: number; value: StatusPageData["storage"] } | undefined;

export async function statusPageSnapshot(sources: StatusPageSources): Promise<StatusPageData> {
  const config = sources.config();
  const now = sources.now();
  const status = sources.reconciler.status();
  return {
    at: now,
    daemon: { pid: process.pid, startedAt: sources.startedAt },
    pools: (status?.pools ?? []).map(({ tokenExpiresAt: _expiry, credential: _credential, ...pool }) => ({ ...pool, queued: pool.queued ?? 0 })),
    runners: (status?.runners ?? []).map((r) => ({ name: r.name, pool: r.pool, phase: r.phase, createdAt: r.createdAt, ...(r.job ? { job: r.job } : {}) })),
    ...(status?.members ? { members: status.members } : {}),
    jobs: sources.store.listJobs({ limit: 50 }),
    credentials: sources.credentials(),
    storage: await storage(config, sources, now),
  };
}

async function storage(config: Config, sources: StatusPageSources, now: number): Promise<StatusPageData["storage"]> {
  if (storageCache && now - storageCache.at < 10_000) return storageCache.value;
  let value: StatusPageData["storage"] = null;
  try {
    const resources = await sources.lxd.storagePoolResources(config.lxd.storage_pool);
    value = { pool: config.lxd.storage_pool, usedBytes: resources.space.used, totalBytes: resources.space.total };
  } catch {
    value = null; // shown as unknown; LXD problems are reported by the reconciler
  }
  storageCache = { at: now, value };
  return value;
}
