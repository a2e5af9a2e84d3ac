// What `runnerd status` shows: the world as LXD and the store see it now (the same observe and
// plan the daemon runs, without acting), plus what only the running daemon knows (last errors).
import { pino } from "pino";
import type { Config } from "../config/index.js";
import { observeRunners } from "../pools/observe.js";
import { plan } from "../pools/plan.js";
import type { PoolReport } from "../pools/reconciler.js";
import { ClusterMembers } from "../pools/members.js";
import type { MemberStatus, ObservedRunner } from "../pools/types.js";
import type { Store } from "../store/index.js";
import type { ConnectedLxd } from "../lxd/connect.js";
import { reconcilerSettings } from "../pools/settings-from-config.js";
import type { CredentialHealth } from "../credentials/health.js";
import { credentialSnapshot } from "../github/report.js";
import { DEMAND_MAX_AGE_MS } from "../jobs/demand.js";
import type { ImageReport } from "../images/runner-updates.js";
import { readStatusFile, runningDaemonPid } from "./state-files.js";

export interface LiveStatus {
  at: number;
  /** "incus 6.0.4 at unix:/var/lib/incus/unix.socket": which daemon runnerd reads. */
  backend?: string;
  daemon: { running: boolean; pid?: number; startedAt?: number; lastPassAt?: number; lastPassError?: string };
  pools: PoolReport[];
  runners: ObservedRunner[];
  /** On a cluster: each member's state and the runners it holds. */
  members?: MemberStatus[];
  /** From the daemon's last runner-release check, when it is running. */
  images: ImageReport[];
  /** Per scope: token expiry and late pushes (push), PAT expiry and API budget (app/pat, from the daemon). */
  credentials: CredentialHealth[];
}

export async function liveStatus(config: Config, lxd: ConnectedLxd, store: Store, now = Date.now()): Promise<LiveStatus> {
  const settings = reconcilerSettings(config);
  // A member seen offline now counts as offline since now: `status` alone never writes runners off.
  const members = await new ClusterMembers().observe(lxd.port, now, silent);
  const offline = new Set(members.filter((m) => m.state === "offline").map((m) => m.name));
  const cluster = members.length > 0 ? { unreachable: offline, known: new Map() } : undefined;
  const observation = await observeRunners(lxd.port, store, config.controller_id, new Map(), new Map(), { now, idleRecheckMs: 0 }, cluster);
  const daemonFile = readStatusFile(config.state_dir);
  const pid = runningDaemonPid(config.state_dir);
  const result = plan(
    {
      pools: settings.pools.map((p) => p.spec),
      runners: observation.runners,
      tokenExpiry: observation.tokenExpiry,
      backoffUntil: new Map(),
      shuttingDown: false,
      demand: store.queuedDemand(now, DEMAND_MAX_AGE_MS),
      ...(members.length > 0 ? { members } : {}),
    },
    settings.plan,
    now,
  );
  const pools: PoolReport[] = result.pools.map((pool) => {
    const known = pid !== undefined ? daemonFile?.pools.find((p) => p.name === pool.name) : undefined;
    // Backoff, a refused runner version and host-cap are the daemon's view; token state is the same from here.
    const report: PoolReport = { ...pool };
    if (known?.blocked === "backoff" || known?.blocked === "runner-deprecated") report.blocked = known.blocked;
    if (known?.deprecated) report.deprecated = known.deprecated;
    if (known?.lastError) report.lastError = known.lastError;
    if (known?.failures !== undefined) report.failures = known.failures;
    if (known?.retryAt !== undefined) report.retryAt = known.retryAt;
    if (known?.backoffReason !== undefined) report.backoffReason = known.backoffReason;
    if (known?.failingSince !== undefined) report.failingSince = known.failingSince;
    return report;
  });
  const daemon: LiveStatus["daemon"] = { running: pid !== undefined };
  if (pid !== undefined) {
    daemon.pid = pid;
    if (daemonFile) {
      daemon.startedAt = daemonFile.startedAt;
      daemon.lastPassAt = daemonFile.at;
      if (daemonFile.lastPassError) daemon.lastPassError = daemonFile.lastPassError;
    }
  }
  const credentials = credentialSnapshot(config, store.listTokens(), pid !== undefined ? (daemonFile?.github ?? []) : [], now);
  const images = pid !== undefined ? (daemonFile?.images ?? []) : [];
  return { at: now, backend: lxd.backend, daemon, pools, runners: observation.runners, ...(result.members ? { members: result.members } : {}), images, credentials };
}

/** ClusterMembers logs member changes for the daemon; a one-off status read has nothing to say. */
const silent = pino({ level: "silent" });
