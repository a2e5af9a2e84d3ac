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
  /** Set when the plan decided the outcome (a timeout, a removal); then the runner's own result does not count. */
  plannedOutcome?: Outcome | undefined;
  outcome: RunnerOutcome;
  result: Pick<AgentResult, "listening_at" | "job_seen"> | null;
  /** A pass saw the runner busy (its result may be lost: killed, crashed). */
  sawJob?: boolean;
  /** runnerd deleted the runner's registration on purpose (a scale-down whose instance deletion failed): its end is runnerd's doing. */
  registrationReleased?: boolean;
}

/** Outcomes of runners runnerd removed on purpose: never a failure of their pool. */
const deliberate = new Set<string>(["surplus", "image-updated", "pool-removed", "member-evacuated", "member-lost"]);

/**
 * A collected runner that ended without running a job counts as a failure of its pool, which then
 * backs off — whatever phase it reached: it never listened (GitHub refused its token, the image is
 * broken), it listened and then failed (a self-update gone wrong, a runner version GitHub refuses),
 * or the plan stopped it at its boot timeout or stuck finishing (force-stopped at the finishing
 * deadline with no job seen). A runner that ran a job did its work, however it
 * ended (a job timeout included). Runners runnerd ended on purpose (surplus, image-updated,
 * pool-removed, or a registration runnerd deleted) are not failures.
 */
export function endedWithoutJob(facts: CollectedFacts): boolean {
  if (facts.plannedOutcome !== undefined && deliberate.has(facts.plannedOutcome)) return false;
  if (facts.plannedOutcome === "job-timeout" || facts.registrationReleased) return false;
  return !ranJob(facts);
}

/** It ran a job, however it ended: it succeeded, a pass saw it busy, or its agent saw the job. */
export function ranJob(facts: Pick<CollectedFacts, "outcome" | "sawJob" | "result">): boolean {
  return facts.outcome === "succeeded" || facts.sawJob === true || facts.result?.job_seen === true;
}

/** A refused runner version is not worth retrying soon: the same image gets the same answer. */
export function isTerminalEnd(outcome: RunnerOutcome): boolean {
  return outcome === "runner-deprecated";
}

/**
 * The version a refused runner had: the agent's `runner_version` (the listener's "Current runner
 * version"), else from its error text (the listener prints "Runner version v2.313.0 is deprecated
 * and cannot receive messages.", actions/runner#3266).
 */
export function deprecatedVersion(detail: string | undefined, result: object | null = null): string | undefined {
  const reported: unknown = result && "runner_version" in result ? result.runner_version : undefined;
  if (typeof reported === "string" && /^\d+\.\d+\.\d+$/.test(reported)) return reported;
  return /version v?(\d+\.\d+\.\d+)/i.exec(detail ?? "")?.[1];
}

/** How many times the runner updated itself (the agent's result.json `updates`; 0 when absent). */
export function selfUpdates(result: object | null): number {
  const n: unknown = result && "updates" in result ? result.updates : undefined;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
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
