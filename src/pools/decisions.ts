// The small decisions the actions take when they run, kept pure so tables can test them: the
// plan decides what to do, these decide the details it could not know when it planned.
import type { AgentStatus } from "./agent-status.js";
import type { AgentResult, RunnerOutcome } from "./runner-record.js";
import type { Outcome } from "./types.js";

/** What a spawn registers its runner with, decided when the spawn starts. */
export type CredentialChoice =
  | { kind: "token"; token: string }
  | { kind: "jit" }
  /** Nothing to do: the token the plan saw is gone (removed since); the next pass says why. */
  | { kind: "skip" }
  /** The spawn cannot work: a configuration problem, recorded as a failed spawn. */
  | { kind: "refuse"; message: string };

export function chooseCredential(pool: { name: string; connection: string; credential: "push" | "jit" }, token: { token: string } | null, hasRegistrar: boolean): CredentialChoice {
  if (pool.credential === "push") return token ? { kind: "token", token: token.token } : { kind: "skip" };
  if (!hasRegistrar) return { kind: "refuse", message: `pool ${pool.name} needs JIT configs but runnerd has no GitHub client for connection ${pool.connection}` };
  return { kind: "jit" };
}

export interface CollectedFacts {
  /** Set when the plan decided the outcome (a timeout); then the runner's own result does not count. */
  plannedOutcome?: Outcome | undefined;
  outcome: RunnerOutcome;
  result: Pick<AgentResult, "listening_at" | "job_seen"> | null;
}

/**
 * A collected runner that ended on its own without ever listening (GitHub refused its token, the
 * image is broken, the network is down) counts as a failure of its pool, which then backs off.
 * A runner the plan stopped (a timeout) does not: that is recorded as what it is.
 */
export function neverListened(facts: CollectedFacts): boolean {
  if (facts.plannedOutcome !== undefined || facts.outcome === "succeeded") return false;
  return !facts.result?.listening_at && !facts.result?.job_seen;
}

/**
 * Whether a collected JIT runner's registration must be deleted: GitHub removes an ephemeral
 * runner itself once it ran its job, so only one that did not finish a job cleanly needs it.
 */
export function needsRegistrationRelease(facts: Pick<CollectedFacts, "outcome" | "result">): boolean {
  return !(facts.outcome === "succeeded" && facts.result?.job_seen === true);
}

/** A runner the plan saw idle may have taken a job since: deleting it then would kill the job. */
export function tookJobSincePlanned(status: AgentStatus | null): boolean {
  return status?.state === "busy" || status?.state === "finished";
}
