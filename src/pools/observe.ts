// Observe, the runners' part: runnerd's instances in LXD, what their agents report, and the
// registration tokens on hand. LXD is the source of truth; memory only caches.
import { isNewerStatus, parseAgentStatus, type AgentStatus } from "./agent-status.js";
import { keys, paths } from "./ownership.js";
import { statusRead } from "./read-limits.js";
import type { LxdPort, TokenPort } from "./ports.js";
import type { ObservedRunner } from "./types.js";

export interface InFlight {
  kind: "spawn" | "collect" | "delete";
  pool: string;
  startedAt: number;
}

/**
 * An agent status with when runnerd last read it (ms since the epoch). `assumed`: not read but
 * inferred (GitHub refused to delete the runner's registration: it has a job).
 */
export type CachedStatus = AgentStatus & { readAt: number; assumed?: boolean };

/** How long an assumed busy status stands before the status file is read again. */
const assumedBusyMs = 10_000;

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

export async function observeRunners(
  lxd: LxdPort,
  tokens: TokenPort,
  controllerId: string,
  inFlight: ReadonlyMap<string, InFlight>,
  statusCache: Map<string, CachedStatus>,
  clock: { now: number; idleRecheckMs: number } = { now: 0, idleRecheckMs: 0 },
): Promise<Observation> {
  const instances = await lxd.listInstances({ configKey: keys.controller, value: controllerId });
  const runners: ObservedRunner[] = [];
  const transitions: Observation["transitions"] = [];
  const seen = new Set<string>();

  await Promise.all(
    instances.map(async (instance) => {
      seen.add(instance.name);
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
      const flight = inFlight.get(instance.name);
      if (flight) {
        runner.phase = flight.kind === "spawn" ? "creating" : "deleting";
      } else if (instance.status === "Stopped") {
        runner.phase = "stopped";
      } else if (instance.status === "Running") {
        const status = await readStatus(lxd, runner, statusCache, transitions, clock);
        applyStatus(runner, status);
      }
      runners.push(runner);
    }),
  );

  // Spawns whose instance LXD does not list yet still count, or the planner would spawn twice.
  for (const [name, flight] of inFlight) {
    if (flight.kind === "spawn" && !seen.has(name)) {
      runners.push({ name, pool: flight.pool, phase: "creating", createdAt: flight.startedAt });
    }
  }
  for (const name of statusCache.keys()) if (!seen.has(name)) statusCache.delete(name);

  const tokenExpiry = new Map<string, number>();
  for (const token of tokens.listTokens()) tokenExpiry.set(token.scope, token.expiresAt.getTime());
  runners.sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  return { runners, tokenExpiry, transitions };
}

/** A busy runner stays busy until it stops, so its status file need not be read again. */
async function readStatus(
  lxd: LxdPort,
  { name, pool }: ObservedRunner,
  cache: Map<string, CachedStatus>,
  transitions: Observation["transitions"],
  clock: { now: number; idleRecheckMs: number },
): Promise<AgentStatus | undefined> {
  const cached = cache.get(name);
  if (cached?.assumed) {
    if (clock.now - cached.readAt < assumedBusyMs) return cached;
    // The file is the truth again, whatever it says (a 422 can also mean "slow down"); only a
    // job (busy, finished) is news for the history: the runner's listening was recorded before.
    const status = parseAgentStatus(await lxd.pullFile(name, paths.status, statusRead).catch(() => null));
    if (!status) return cached;
    if (status.state === "busy" || status.state === "finished") transitions.push({ runner: name, pool, status });
    cache.set(name, { ...status, readAt: clock.now });
    return status;
  }
  if (cached && (cached.state === "busy" || cached.state === "finished")) return cached;
  // An idle runner changes only when a job arrives; reading each idle runner's file on every
  // pass (passes come several times a second in a burst) costs LXD a helper process each time.
  if (cached?.state === "idle" && clock.now - cached.readAt < clock.idleRecheckMs) return cached;
  let status: AgentStatus | null = null;
  try {
    status = parseAgentStatus(await lxd.pullFile(name, paths.status, statusRead));
  } catch {
    // The instance may be stopping right now; the next pass sees it stopped.
    return cached;
  }
  if (!status || (cached && !isNewerStatus(status, cached))) {
    if (cached) cached.readAt = clock.now;
    return cached;
  }
  transitions.push({ runner: name, pool, status });
  cache.set(name, { ...status, readAt: clock.now });
  return status;
}

function applyStatus(runner: ObservedRunner, status: AgentStatus | undefined): void {
  if (!status) return;
  switch (status.state) {
    case "idle":
      runner.phase = "idle";
      runner.phaseSince = status.since;
      break;
    case "busy":
      runner.phase = "busy";
      runner.phaseSince = status.since;
      if (status.job) runner.job = status.job;
      break;
    case "finished":
      // Its result is written and it is powering itself off.
      runner.phase = "finishing";
      runner.phaseSince = status.since;
      break;
    default:
      break;
  }
}
