// What runnerd records about a finished runner, read from the agent's result.json.
import { z } from "zod";

export type RunnerOutcome =
  | "succeeded" // ran one job and exited cleanly
  | "no-job" // exited cleanly without a job (e.g. its registration was removed)
  | "failed" // the runner or agent failed
  | "config-failed" // config.sh refused (bad or expired token, name clash)
  | "boot-timeout"
  | "job-timeout"
  | "spawn-failed"
  | "pool-removed"
  | "surplus"
  | "image-updated" // replaced before its job by a runner of the pool's new image
  | "deleted"
  | "lost"; // stopped without a result: killed, crashed, or never started

/** Written by agent/runner-agent.sh; times are seconds since the epoch. */
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
export type AgentResult = z.infer<typeof agentResultSchema>;

const knownOutcomes = new Set<string>(["succeeded", "no-job", "failed", "config-failed"]);

/** Parses result.json; a missing or garbled file is a runner that was lost, not an error. */
export function readAgentResult(raw: Buffer | null): { result: AgentResult | null; outcome: RunnerOutcome; detail?: string } {
  if (!raw) return { result: null, outcome: "lost", detail: "no result.json: the runner stopped before its agent finished" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    return { result: null, outcome: "lost", detail: "result.json is not valid JSON" };
  }
  const checked = agentResultSchema.safeParse(parsed);
  if (!checked.success) return { result: null, outcome: "lost", detail: "result.json does not have the expected fields" };
  const result = checked.data;
  const outcome = knownOutcomes.has(result.outcome) ? (result.outcome as RunnerOutcome) : "failed";
  const entry: { result: AgentResult; outcome: RunnerOutcome; detail?: string } = { result, outcome };
  if (result.error) entry.detail = result.error;
  return entry;
}
