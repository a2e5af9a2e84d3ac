// The listing job recovery reads: the queued jobs of a repository's workflow runs. Runs whose
// status is `queued` hold only queued jobs; runs `in_progress` can hold queued jobs too (a job
// that waited on `needs:`, a matrix wider than the runners available), so both are listed
// (`actions/list-workflow-runs-for-repo?status=`, newest first), then each run's jobs
// (`actions/list-jobs-for-workflow-run?filter=latest`). Bounded: a busy repository has many runs
// in progress, and every call counts against the API budget.
import type { GitHubOctokit } from "./octokit.js";

/** A job as GitHub's Actions API lists it (the fields job recovery uses). */
export interface ListedJob {
  id: number;
  runId: number;
  runAttempt: number;
  name: string;
  workflowName: string | null;
  labels: string[];
  status: string;
  conclusion: string | null;
  runnerName: string | null;
  runnerGroupName: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
}

export interface ListingBounds {
  /** Pages (of 100) of runs read per run status. */
  runPages: number;
  /** Runs whose jobs are read, queued runs first, then those in progress, newest first. */
  maxRuns: number;
  /** Pages (of 100) of jobs read per run (a matrix holds at most 256 jobs). */
  jobPages: number;
}

export const defaultListingBounds: ListingBounds = { runPages: 1, maxRuns: 30, jobPages: 3 };

export interface QueuedJobsListing {
  jobs: ListedJob[];
  /** Runs whose jobs were read. */
  runs: number;
  /** Some runs or jobs were left unread for lack of bounds (read next time, if still there). */
  truncated: boolean;
}

/** Run statuses whose runs can hold queued jobs (`workflow-run-status` in the OpenAPI). */
const runStatuses = ["queued", "in_progress"] as const;

export async function listQueuedJobs(octokit: GitHubOctokit, repo: { owner: string; repo: string }, bounds: ListingBounds = defaultListingBounds): Promise<QueuedJobsListing> {
  const runIds: number[] = [];
  let truncated = false;
  for (const status of runStatuses) {
    let pages = 0;
    for await (const page of octokit.paginate.iterator(octokit.rest.actions.listWorkflowRunsForRepo, { ...repo, status, per_page: 100 })) {
      for (const run of page.data) if (!runIds.includes(run.id)) runIds.push(run.id);
      if (++pages >= bounds.runPages) {
        truncated ||= hasNextPage(page.headers);
        break;
      }
    }
  }
  if (runIds.length > bounds.maxRuns) truncated = true;
  const jobs: ListedJob[] = [];
  const runs = runIds.slice(0, bounds.maxRuns);
  for (const runId of runs) {
    let pages = 0;
    for await (const page of octokit.paginate.iterator(octokit.rest.actions.listJobsForWorkflowRun, { ...repo, run_id: runId, filter: "latest", per_page: 100 })) {
      for (const job of page.data) if (job.status === "queued" || job.status === "waiting") jobs.push(listedJob(job));
      if (++pages >= bounds.jobPages) {
        truncated ||= hasNextPage(page.headers);
        break;
      }
    }
  }
  return { jobs, runs: runs.length, truncated };
}

function hasNextPage(headers: { link?: string | undefined }): boolean {
  return /rel="next"/.test(headers.link ?? "");
}

type ApiJob = {
  id: number;
  run_id: number;
  run_attempt?: number;
  name: string;
  workflow_name?: string | null;
  labels: string[];
  status: string;
  conclusion: string | null;
  runner_name?: string | null;
  runner_group_name?: string | null;
  created_at: string;
  started_at?: string | null;
  completed_at?: string | null;
};

export function listedJob(job: ApiJob): ListedJob {
  return {
    id: job.id,
    runId: job.run_id,
    runAttempt: job.run_attempt ?? 1,
    name: job.name,
    workflowName: job.workflow_name ?? null,
    labels: job.labels,
    status: job.status,
    conclusion: job.conclusion,
    runnerName: job.runner_name ?? null,
    runnerGroupName: job.runner_group_name ?? null,
    createdAt: job.created_at,
    startedAt: job.started_at ?? null,
    completedAt: job.completed_at ?? null,
  };
}
