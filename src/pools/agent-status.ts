// Reads the agent's status file (/var/lib/runnerd/status): how far a running runner has got.
//
// The agent's states and the runner phases runnerd shows share their words where they mean the
// same thing:
//   agent state            phase       why a different word, if any
//   booting, configuring   starting    one phase for everything before the runner listens
//   idle                   idle        the runner printed "Listening for Jobs"
//   busy                   busy        the runner printed "Running job: ..."
//   finished               finishing   the agent is done; LXD is still stopping the instance

export type AgentState = "booting" | "configuring" | "idle" | "busy" | "finished";

export interface AgentStatus {
  state: AgentState;
  /**
   * ms since the epoch when the agent entered this state. As parsed: the file's `at`, which a job
   * (root in the container) can set to anything; observe.ts clamps it (`clampPhaseStart`) before
   * anything times from it.
   */
  since: number;
  job?: string;
}

const states = new Set<string>(["booting", "configuring", "idle", "busy", "finished"]);
/** Written by the agents of runnerd 0.1 (`listening`): runners they started may still be adopted after an upgrade. */
const legacyStates: Record<string, AgentState> = { listening: "idle" };

const order: Record<AgentState, number> = { booting: 0, configuring: 1, idle: 2, busy: 3, finished: 4 };

/** States only move forward; a report or file read that arrives late must not undo a newer one. */
export function isNewerStatus(candidate: AgentStatus, current: AgentStatus): boolean {
  return order[candidate.state] > order[current.state];
}

export function parseAgentStatus(raw: Buffer | string | null): AgentStatus | null {
  if (raw === null) return null;
  const fields = new Map<string, string>();
  for (const line of raw.toString().split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const written = fields.get("state");
  const state = written !== undefined ? (legacyStates[written] ?? written) : undefined;
  const at = Number(fields.get("at"));
  if (!state || !states.has(state) || !Number.isFinite(at * 1000)) return null;
  const status: AgentStatus = { state: state as AgentState, since: at * 1000 };
  const job = fields.get("job");
  if (job) status.job = job;
  return status;
}

/**
 * The start of a phase as runnerd believes it: the time the file reports, but never before
 * `earliest` (the instance's creation, or the start of the phase before) and never after
 * `seenAt` (runnerd's own clock when it first saw this phase). A time that is not a number is
 * `seenAt`. When the bounds cross (a clock set back), `seenAt` wins: runnerd's clock is the one
 * its timers run on.
 */
export function clampPhaseStart(reported: number, earliest: number, seenAt: number): number {
  if (!Number.isFinite(reported)) return seenAt;
  return Math.min(Math.max(reported, earliest), seenAt);
}
