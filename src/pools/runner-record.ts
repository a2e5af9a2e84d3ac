// What runnerd records about a finished runner, read from the agent's result.json.
import { z } from "zod";

export type RunnerOutcome =
  | "succeeded" // ran one job and exited cleanly
  | "no-job" // exited cleanly without a job (e.g. its registration was removed)
  | "failed" // the runner or agent failed
  | "config-failed" // config.sh refused (bad or expired token, name clash)
  | "boot-timeout"
  | "job-timeout"
  | "finishing-timeout" // its agent finished, but the instance still ran after the deadline: force-stopped
  | "spawn-failed"
  | "pool-removed"
  | "surplus"
  | "image-updated" // replaced before its job by a runner of the pool's new image
  | "member-evacuated" // removed before its job: its cluster member is being evacuated
  | "member-lost" // its cluster member went offline for longer than the timeout
  | "runner-deprecated" // GitHub refused the runner's version as deprecated
  | "deleted"
  | "lost"; // stopped without a result: killed, crashed, or never started

/** Written by agent/runner-agent.sh; times are seconds since the epoch. Every agent writes these. */
export const agentResultSchema = z.object({
  exit_code: z.number().int().nullable(),
  outcome: z.string(),
  job_seen: z.boolean(),
  job_name: z.string(),
  job_result: z.string().optional(),
  error: z.string(),
  started_at: z.number(),
  configured_at: z.number().nullable(),
  listening_at: z.number().nullable(),
  job_started_at: z.number().nullable(),
  finished_at: z.number(),
});

/**
 * How the runner ended (result.json `end`, written by agents since the listener is supervised:
 * see the comment at the top of agent/runner-agent.sh), and the outcome each means.
 */
export const agentEnds = {
  "job-done": "succeeded",
  "no-job": "no-job",
  "registration-deleted": "no-job",
  deprecated: "runner-deprecated",
  "session-conflict": "failed",
  "restart-limit": "failed",
  "config-failed": "config-failed",
  failed: "failed",
} as const satisfies Record<string, RunnerOutcome>;
export type AgentEnd = keyof typeof agentEnds;

const count = z.number().int().min(0).max(1_000_000);
/** The supervision fields; each is checked on its own, and a bad one makes the runner failed. */
const supervisionFields = {
  end: z.enum(Object.keys(agentEnds) as [AgentEnd, ...AgentEnd[]]),
  /** Self-updates the listener did (exit 3/4), each followed by a restart. */
  updates: count,
  /** Retryable errors (exit 2), each followed by a pause and a restart. */
  retries: count,
  /** Configuration refreshes (exit 6), each followed by a restart. */
  refreshes: count,
  /** The last version the listener printed ("Current runner version: 'X'"). */
  runner_version: z.string().regex(/^\d{1,9}\.\d{1,9}\.\d{1,9}$/).nullable(),
};

export type AgentResult = z.infer<typeof agentResultSchema> & {
  end?: AgentEnd;
  updates?: number;
  retries?: number;
  refreshes?: number;
  runner_version?: string | null;
};

/** Outcomes an agent without `end` may write. */
const knownOutcomes = new Set<string>(["succeeded", "no-job", "failed", "config-failed", "runner-deprecated"]);

/** Parses result.json; a missing or garbled file is a runner that was lost, not an error. Never throws. */
export function readAgentResult(raw: Buffer | null): { result: AgentResult | null; outcome: RunnerOutcome; detail?: string } {
  if (!raw) return { result: null, outcome: "lost", detail: "no result.json: the runner stopped before its agent wrote one (it ended early, or its disk was full)" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    return { result: null, outcome: "lost", detail: "result.json is not valid JSON" };
  }
  const checked = agentResultSchema.safeParse(parsed);
  if (!checked.success) return { result: null, outcome: "lost", detail: "result.json does not have the expected fields" };
  const result: AgentResult = checked.data;
  const bad: string[] = [];
  for (const [key, schema] of Object.entries(supervisionFields)) {
    if (!Object.hasOwn(parsed as object, key)) continue;
    const field = schema.safeParse((parsed as Record<string, unknown>)[key]);
    if (field.success) Object.assign(result, { [key]: field.data });
    else bad.push(key);
  }
  const entry: { result: AgentResult; outcome: RunnerOutcome; detail?: string } = { result, outcome: outcomeOf(result, bad) };
  const details = [result.error, bad.length > 0 ? `result.json has fields runnerd cannot read (${bad.join(", ")}), so the runner counts as failed` : ""].filter((d) => d !== "");
  if (details.length > 0) entry.detail = details.join("; ");
  return entry;
}

/** `end` decides when there is one (an unreadable field or an unknown end is a failure); older agents' `outcome` otherwise. */
function outcomeOf(result: AgentResult, bad: readonly string[]): RunnerOutcome {
  if (bad.length > 0) return "failed";
  if (result.end !== undefined) return agentEnds[result.end];
  return knownOutcomes.has(result.outcome) ? (result.outcome as RunnerOutcome) : "failed";
}
