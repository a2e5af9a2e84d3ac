// Observe, the runners' part: runnerd's instances in LXD, what their agents report, and the
// registration tokens on hand. LXD is the source of truth; memory only caches.
import { clampPhaseStart, isNewerStatus, parseAgentStatus, type AgentStatus } from "./agent-status.js";
import { isDeadlineError } from "../lxd/index.js";
import { keys, paths } from "./ownership.js";
import { statusRead } from "./read-limits.js";
import type { InstanceSummary, LxdPort, TokenPort } from "./ports.js";
import type { ObservedRunner } from "./types.js";

export interface InFlight {
  kind: "spawn" | "collect" | "delete";
  pool: string;
  startedAt: number;
  /** A spawn placed on a cluster member by runnerd (not by the server's scheduler). */
  member?: string;
}

/**
 * An agent status with when runnerd last read it (ms since the epoch), its `since` already on
 * runnerd's clock (`believe`). `assumed`: not read but inferred (GitHub refused to delete the
 * runner's registration: it has a job).
 */
export type CachedStatus = AgentStatus & { readAt: number; assumed?: boolean; hung?: boolean };

/** How long an assumed busy status stands before the status file is read again. */
const assumedBusyMs = 10_000;
/**
 * A busy runner's file is read again this often: its agent writes `finished` and powers off, and
 * one kept from powering off (a job froze it) must still meet the finishing deadline, not
 * job_timeout hours later (hostile-jobs.test.ts, attack 8).
 */
export const busyRecheckMs = 10_000;

/** On a cluster: members that do not answer, and the runners the last pass saw (for placeholders). */
export interface ClusterView {
  unreachable: ReadonlySet<string>;
  known: ReadonlyMap<string, ObservedRunner>;
}

/** An agent status change seen in a pass, for the history. */
export interface Transition {
  runner: string;
  pool: string;
  status: AgentStatus;
}

export interface Observation {
  runners: ObservedRunner[];
  tokenExpiry: Map<string, number>;
  transitions: Transition[];
}

/** `idleRecheckMs`: how long an idle runner's status stands before its file is read again (per runner: idle-reads.ts). */
export interface ObserveClock {
  now: number;
  idleRecheckMs: number | ((pool: string, runner: string) => number);
}

export async function observeRunners(
  lxd: LxdPort,
  tokens: TokenPort,
  controllerId: string,
  inFlight: ReadonlyMap<string, InFlight>,
  statusCache: Map<string, CachedStatus>,
  clock: ObserveClock = { now: Date.now(), idleRecheckMs: 0 },
  cluster?: ClusterView,
): Promise<Observation> {
  // The actions in flight when the listing was asked for, and those in flight when it came back,
  // both count: LXD answers with the instances as they were when it read them, so a spawn that
  // finished meanwhile has its instance listed "Stopped" (made, not yet started) or not at all.
  // Seen through the later map alone it would be a stopped runner holding no slot, and the plan
  // would spawn one beyond the ceiling (seen on Incus, whose listing is slower: 7 under 6).
  const before = new Map(inFlight);
  const instances = await lxd.listInstances({ configKey: keys.controller, value: controllerId, ...(cluster ? { includeUnreadable: true } : {}) });
  const unreachable = cluster?.unreachable ?? new Set<string>();
  const flightOf = (name: string) => inFlight.get(name) ?? before.get(name);
  const runners: ObservedRunner[] = [];
  const transitions: Observation["transitions"] = [];
  const seen = new Set<string>();

  await Promise.all(
    instances.map(async (instance) => {
      if (instance.config[keys.controller] !== controllerId) {
        // A placeholder for an instance on a member that does not answer: ours if a pass saw it.
        const known = cluster?.known.get(instance.name);
        if (known) {
          seen.add(instance.name);
          runners.push(unreadableRunner(known, instance.location, statusCache, clock.now));
        }
        return;
      }
      seen.add(instance.name);
      const runner = runnerOf(instance);
      const flight = flightOf(instance.name);
      if (flight) {
        runner.phase = flight.kind === "spawn" ? "creating" : "deleting";
      } else if (runner.member !== undefined && (unreachable.has(runner.member) || instance.status === "Error")) {
        // Its member is offline, or not answering yet (a cluster lists such instances as "Error"
        // before it marks the member offline): no read or action can reach it; it counts as last
        // seen until written off (plan.ts).
        runner.unreachable = true;
        applyStatus(runner, statusCache.get(instance.name), clock.now);
      } else if (instance.status === "Stopped") {
        runner.phase = "stopped";
      } else if (instance.status === "Running") {
        const status = await readStatus(lxd, runner, statusCache, transitions, clock);
        applyStatus(runner, status, clock.now);
      }
      runners.push(runner);
    }),
  );

  // Spawns whose instance LXD does not list yet still count, or the planner would spawn twice.
  for (const [name, flight] of new Map([...before, ...inFlight])) {
    if (flight.kind === "spawn" && !seen.has(name)) {
      runners.push({ name, pool: flight.pool, phase: "creating", createdAt: flight.startedAt, ...(flight.member !== undefined ? { member: flight.member } : {}) });
    }
  }
  for (const name of statusCache.keys()) if (!seen.has(name)) statusCache.delete(name);

  const tokenExpiry = new Map<string, number>();
  for (const token of tokens.listTokens()) tokenExpiry.set(token.scope, token.expiresAt.getTime());
  runners.sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  return { runners, tokenExpiry, transitions };
}

/**
 * A finished runner's status is final; a busy one's is read again every busyRecheckMs, unless a
 * read of it hung (a FIFO the job put there: each read would cost a pass its deadline; its job
 * timeout still applies). Statuses only move forward (isNewerStatus): a forged idle changes nothing.
 */
async function readStatus(
  lxd: LxdPort,
  runner: ObservedRunner,
  cache: Map<string, CachedStatus>,
  transitions: Observation["transitions"],
  clock: ObserveClock,
): Promise<AgentStatus | undefined> {
  const { name, pool } = runner;
  const cached = cache.get(name);
  if (cached?.assumed) {
    if (clock.now - cached.readAt < assumedBusyMs) return cached;
    // The file is the truth again, whatever it says (a 422 can also mean "slow down"); only a
    // job (busy, finished) is news for the history: the runner's listening was recorded before.
    const read = parseAgentStatus(await lxd.pullFile(name, paths.status, statusRead).catch(() => null));
    if (!read) return cached;
    const status = believe(read, runner, cached, clock.now);
    if (status.state === "busy" || status.state === "finished") transitions.push({ runner: name, pool, status });
    cache.set(name, { ...status, readAt: clock.now });
    return status;
  }
  if (cached?.state === "finished") return cached;
  if (cached?.state === "busy" && (cached.hung === true || clock.now - cached.readAt < busyRecheckMs)) return cached;
  // An idle runner changes only when a job arrives; reading each idle runner's file on every
  // pass (passes come several times a second in a burst) costs LXD a helper process each time.
  const idleEvery = typeof clock.idleRecheckMs === "number" ? clock.idleRecheckMs : clock.idleRecheckMs(pool, name);
  if (cached?.state === "idle" && clock.now - cached.readAt < idleEvery) return cached;
  let read: AgentStatus | null = null;
  try {
    read = parseAgentStatus(await lxd.pullFile(name, paths.status, statusRead));
  } catch (err) {
    // The instance may be stopping right now; the next pass sees it stopped.
    if (cached && isDeadlineError(err)) cached.hung = true;
    return cached;
  }
  if (!read || (cached && !isNewerStatus(read, cached))) {
    if (cached) cached.readAt = clock.now;
    return cached;
  }
  const status = believe(read, runner, cached, clock.now);
  transitions.push({ runner: name, pool, status });
  cache.set(name, { ...status, readAt: clock.now });
  return status;
}

/**
 * A status read from the file, with its time made runnerd's own. The file's `at` is written in
 * the container, where a job is root: `busy` at 9999999999 would put the job timeout (and the
 * reconciler's next deadline) past the end of time, `finished` in the future would keep a
 * running instance "finishing" for good. Yet the time runnerd first saw a phase is late by up to
 * a poll (an idle runner is read every 2 s, or every few minutes in a quiet pool: idle-reads.ts; a runner adopted after a restart may have been
 * busy for hours), so the file's time is kept, clamped into [the instance's creation or the
 * phase before, the first pass that saw this phase]. Then no forged time can move a deadline
 * later than runnerd's first sight of the phase, and a forged early one can only bring forward
 * the timeouts of the job's own runner, no earlier than its creation.
 */
function believe(read: AgentStatus, runner: ObservedRunner, cached: CachedStatus | undefined, now: number): AgentStatus {
  const samePhase = cached !== undefined && cached.state === read.state;
  const seenAt = samePhase ? Math.min(cached.since, now) : now;
  const earliest = cached !== undefined && isNewerStatus(read, cached) ? Math.max(runner.createdAt, cached.since) : runner.createdAt;
  return { ...read, since: clampPhaseStart(read.since, earliest, seenAt) };
}

function applyStatus(runner: ObservedRunner, status: AgentStatus | undefined, now: number): void {
  if (!status) return;
  // Cached times were clamped when first read; an assumed busy (snapshot.ts) knew no creation time.
  const since = clampPhaseStart(status.since, runner.createdAt, now);
  switch (status.state) {
    case "idle":
      runner.phase = "idle";
      runner.phaseSince = since;
      break;
    case "busy":
      runner.phase = "busy";
      runner.phaseSince = since;
      if (status.job) runner.job = status.job;
      break;
    case "finished":
      // Its result is written and it is powering itself off.
      runner.phase = "finishing";
      runner.phaseSince = since;
      break;
    default:
      break;
  }
}

/** What an instance's own keys say of its runner; the phase is decided by the caller. */
function runnerOf(instance: InstanceSummary): ObservedRunner {
  const pool = instance.config[keys.pool] ?? "";
  const createdAt = Date.parse(instance.config[keys.createdAt] ?? "") || 0;
  const runner: ObservedRunner = { name: instance.name, pool, createdAt, phase: "starting" };
  const image = instance.config["volatile.base_image"];
  if (image) runner.image = image;
  const githubRunnerId = Number(instance.config[keys.githubRunnerId]);
  const connection = instance.config[keys.connection];
  if (Number.isSafeInteger(githubRunnerId) && githubRunnerId > 0 && connection) {
    runner.githubRunnerId = githubRunnerId;
    runner.connection = connection;
  }
  const scope = instance.config[keys.scope];
  if (scope) runner.scope = scope;
  // A server that is not clustered reports "none" (LXD and Incus alike).
  if (instance.location && instance.location !== "none") runner.member = instance.location;
  return runner;
}

/** A runner a pass saw before, whose member does not answer now: as last seen, and unreachable. */
function unreadableRunner(known: ObservedRunner, location: string | undefined, statusCache: ReadonlyMap<string, CachedStatus>, now: number): ObservedRunner {
  const { phase: _phase, phaseSince: _since, job: _job, ...identity } = known;
  const runner: ObservedRunner = { ...identity, phase: "starting", unreachable: true };
  if (location && location !== "none") runner.member = location;
  applyStatus(runner, statusCache.get(known.name), now);
  return runner;
}
