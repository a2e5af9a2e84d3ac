// Reads the agent's status file (/var/lib/runnerd/status): how far a running runner has got.

export type AgentState = "booting" | "configuring" | "listening" | "busy" | "finished";

export interface AgentStatus {
  state: AgentState;
  /** ms since the epoch when the agent entered this state. */
  since: number;
  job?: string;
}

const states = new Set<string>(["booting", "configuring", "listening", "busy", "finished"]);

const order: Record<AgentState, number> = { booting: 0, configuring: 1, listening: 2, busy: 3, finished: 4 };

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
  const state = fields.get("state");
  const at = Number(fields.get("at"));
  if (!state || !states.has(state) || !Number.isFinite(at)) return null;
  const status: AgentStatus = { state: state as AgentState, since: at * 1000 };
  const job = fields.get("job");
  if (job) status.job = job;
  return status;
}
