// The job queue: FIFO, each job handed to exactly one eligible long-polling runner, re-queued if unclaimed.
import { createHash } from "node:crypto";
import { HttpError } from "./http-io.js";
import { deleteRunner } from "./runner-registry.js";
import { runnerScopeServesJob } from "./scope.js";
import { emitJob, later, notifyChange } from "./state.js";
import type { EmulatorState, PollWaiter } from "./state.js";
import type { JobInput, JobRecord, RunnerRecord } from "./types.js";

export function enqueueJob(state: EmulatorState, input: JobInput): JobRecord {
  const id = state.nextJobId++;
  const repository = input.repository ?? ("repo" in input.scope ? input.scope.repo : `${input.scope.org}/${input.scope.org}`);
  const runId = input.runId ?? state.nextRunId++;
  const job: JobRecord = {
    id,
    name: input.name ?? `job-${id}`,
    scope: input.scope,
    repository,
    runId,
    runAttempt: 1,
    workflowName: input.workflowName ?? "CI",
    headBranch: input.headBranch ?? "main",
    // Stable per run, like the commit a run builds.
    headSha: createHash("sha1").update(`run-${runId}`).digest("hex"),
    labels: [...input.labels],
    script: input.script,
    status: "queued",
    conclusion: null,
    exitCode: null,
    runnerId: null,
    runnerName: null,
    queuedAt: state.now(),
    assignedAt: null,
    startedAt: null,
    completedAt: null,
    requeues: 0,
    log: "",
  };
  state.jobs.set(id, job);
  // Before dispatching, so `queued` is sent before an immediate assignment's `in_progress`.
  emitJob(state, job, "queued");
  dispatchJobs(state);
  notifyChange(state);
  return job;
}

/** Cancels a job no runner has taken yet (GitHub: "Cancel workflow" before the job started). */
export function cancelJob(state: EmulatorState, id: number): void {
  const job = state.jobs.get(id);
  if (job === undefined) throw new Error(`no job ${id}`);
  if (job.status !== "queued" || job.runnerId !== null) throw new Error(`job ${id} is ${job.status}${job.runnerId === null ? "" : " and assigned"}; only an unassigned queued job can be cancelled`);
  job.status = "completed";
  job.conclusion = "cancelled";
  job.completedAt = state.now();
  emitJob(state, job, "completed");
  notifyChange(state);
}

function canTake(runner: RunnerRecord, job: JobRecord): boolean {
  if (runner.deletedAt !== null || runner.busy) return false;
  // GitHub gives an ephemeral runner one job, ever.
  if (runner.ephemeral && runner.jobIds.length > 0) return false;
  if (!runnerScopeServesJob(runner.scope, job.scope)) return false;
  const have = new Set(runner.labels.map((l) => l.name.toLowerCase()));
  return job.labels.every((l) => have.has(l.toLowerCase()));
}

/** Matches queued jobs (oldest first) with waiting runners (longest waiting first). */
export function dispatchJobs(state: EmulatorState): void {
  for (const job of state.jobs.values()) {
    if (job.status !== "queued" || job.runnerId !== null) continue;
    for (const waiter of state.waiters.values()) {
      const runner = state.runners.get(waiter.runnerId);
      if (runner === undefined || !canTake(runner, job)) continue;
      assign(state, job, runner, waiter);
      break;
    }
  }
}

function assign(state: EmulatorState, job: JobRecord, runner: RunnerRecord, waiter: PollWaiter): void {
  job.runnerId = runner.id;
  job.runnerName = runner.name;
  job.assignedAt = state.now();
  runner.busy = true;
  runner.jobIds.push(job.id);
  state.waiters.delete(runner.id);
  waiter.answer(job.id);
  const attempt = job.requeues;
  later(state, state.assignTimeoutMs, () => {
    // Still unclaimed by the same assignment: GitHub re-queues after 60 s; so do we.
    if (job.status !== "queued" || job.runnerId !== runner.id || job.requeues !== attempt) return;
    requeueJob(state, job, runner);
  });
}

/** Takes an assigned, unstarted job back from its runner and hands it to the next one. */
export function requeueJob(state: EmulatorState, job: JobRecord, runner: RunnerRecord): void {
  job.runnerId = null;
  job.runnerName = null;
  job.assignedAt = null;
  job.requeues += 1;
  runner.busy = false;
  dispatchJobs(state);
  notifyChange(state);
}

/** The job currently assigned to a runner and not yet finished, if any. */
export function assignedJob(state: EmulatorState, runner: RunnerRecord): JobRecord | undefined {
  const id = runner.jobIds.at(-1);
  const job = id === undefined ? undefined : state.jobs.get(id);
  return job !== undefined && job.runnerId === runner.id && job.status !== "completed" ? job : undefined;
}

export function jobForRunner(state: EmulatorState, runner: RunnerRecord, jobId: number): JobRecord {
  const job = state.jobs.get(jobId);
  if (job === undefined) throw new HttpError(404, `Job ${jobId} not found`);
  if (job.runnerId !== runner.id) throw new HttpError(403, `Job ${jobId} is not assigned to runner ${runner.name}`);
  return job;
}

/** Fetching the script is the runner acquiring the job. */
export function startJob(state: EmulatorState, job: JobRecord): void {
  if (job.status !== "queued") return;
  job.status = "in_progress";
  job.startedAt = state.now();
  emitJob(state, job, "in_progress");
  notifyChange(state);
}

export function completeJob(state: EmulatorState, job: JobRecord, runner: RunnerRecord, exitCode: number): void {
  if (job.status === "completed") return;
  // A runner that never fetched the script still started the job, as far as GitHub's events go.
  startJob(state, job);
  job.status = "completed";
  job.completedAt = state.now();
  job.exitCode = exitCode;
  job.conclusion = exitCode === 0 ? "success" : "failure";
  runner.busy = false;
  emitJob(state, job, "completed");
  // After its one job GitHub removes an ephemeral runner's registration.
  if (runner.ephemeral) deleteRunner(state, runner.id);
  dispatchJobs(state);
  notifyChange(state);
}

export function snapshotJob(job: JobRecord): JobRecord {
  return { ...job, scope: { ...job.scope }, labels: [...job.labels] };
}

/** Resolves once every selected job completed; rejects with a one-line-per-job summary on timeout. */
export function waitForJobs(
  state: EmulatorState,
  select: readonly number[] | ((job: JobRecord) => boolean),
  timeoutMs: number,
): Promise<JobRecord[]> {
  const pick = (): JobRecord[] => typeof select === "function"
    ? [...state.jobs.values()].filter(select)
    : select.map((id) => state.jobs.get(id)).filter((j): j is JobRecord => j !== undefined);
  const done = (): boolean => {
    const jobs = pick();
    const expected = typeof select === "function" ? 1 : select.length;
    return jobs.length >= expected && jobs.every((j) => j.status === "completed");
  };
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      state.listeners.delete(check);
      clearTimeout(timer);
    };
    const check = (): void => {
      if (!done()) return;
      finish();
      resolve(pick().map(snapshotJob));
    };
    const timer = setTimeout(() => {
      finish();
      const lines = pick().map((j) => `  job ${j.id} "${j.name}" [${j.labels.join(",")}]: ${j.status}`
        + `${j.runnerName === null ? "" : ` on ${j.runnerName}`}${j.conclusion === null ? "" : ` (${j.conclusion})`}`);
      const runners = [...state.runners.values()].filter((r) => r.deletedAt === null)
        .map((r) => `  runner ${r.id} ${r.name} [${r.labels.map((l) => l.name).join(",")}] busy=${r.busy} polling=${state.waiters.has(r.id)}`);
      reject(new Error([`waitForJobs: not all jobs completed within ${timeoutMs} ms`, ...lines, "live runners:",
        ...(runners.length > 0 ? runners : ["  (none)"])].join("\n")));
    }, timeoutMs);
    state.listeners.add(check);
    check();
  });
}

export function waitUntil(state: EmulatorState, check: () => boolean, timeoutMs: number, what = "condition"): Promise<void> {
  return new Promise((resolve, reject) => {
    const listener = (): void => {
      if (!check()) return;
      finish();
      resolve();
    };
    const finish = (): void => {
      state.listeners.delete(listener);
      clearTimeout(timer);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`waitUntil: ${what} not reached within ${timeoutMs} ms`));
    }, timeoutMs);
    state.listeners.add(listener);
    listener();
  });
}
