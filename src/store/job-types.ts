// The vocabulary of GitHub jobs as runnerd sees them: what a `workflow_job` webhook (or the
// recovery listing) says, and what the job history keeps.

export type JobStatus = "queued" | "waiting" | "in_progress" | "completed";

/** One `workflow_job` delivery, reduced to what runnerd uses. Times are ms since the epoch. */
export interface JobEvent {
  /**
   * `queued`, `waiting`, `in_progress` or `completed`: GitHub's `action`, except that a `queued`
   * delivery whose job's status is `waiting` (an environment approval) is `waiting`.
   */
  action: JobStatus;
  /** `X-GitHub-Delivery`; `recovery:<job id>` for jobs found by listing. */
  deliveryId: string;
  /** The configured connection whose webhook secret verified the delivery. */
  connection: string;
  jobId: number;
  runId: number;
  runAttempt: number;
  /** `owner/name`. */
  repository: string;
  workflowName: string | null;
  jobName: string;
  /** The job's `runs-on` labels, as written. */
  labels: string[];
  runnerName: string | null;
  runnerGroupName: string | null;
  conclusion: string | null;
  createdAt: number | null;
  startedAt: number | null;
  completedAt: number | null;
  /** When runnerd received it. */
  receivedAt: number;
}

/** A job in the history (store table `jobs`). */
export interface JobRecord {
  jobId: number;
  runId: number;
  connection: string;
  repository: string;
  workflowName: string | null;
  jobName: string;
  labels: string[];
  status: JobStatus;
  conclusion: string | null;
  /** The pool runnerd matched the job to when it was queued; null: no pool fits. */
  pool: string | null;
  runnerName: string | null;
  queuedAt: number | null;
  startedAt: number | null;
  completedAt: number | null;
  updatedAt: number;
}
