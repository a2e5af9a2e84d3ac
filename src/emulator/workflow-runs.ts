// Workflow runs and their jobs as GitHub's REST API lists them: what runnerd reads to recover
// queued jobs whose webhooks were lost. A run is the emulator's jobs grouped by `runId`.
import { createHash } from "node:crypto";
import { accountId, isoSeconds, simpleUser } from "./apps.js";
import { HttpError } from "./http-io.js";
import type { Reply } from "./http-io.js";
import { clampInt, linkHeader } from "./rest-api.js";
import { param } from "./routes.js";
import type { Route, RouteContext } from "./routes.js";
import type { JobRecord } from "./types.js";
import { SENDER_LOGIN, minimalRepository, nodeId, ownerIsOrg, stableId, workflowJob } from "./webhook-payload.js";

const REPO = "/repos/([^/]+)/([^/]+)";

/** `workflow-run-status` values that are conclusions; the others are statuses. */
const CONCLUSIONS = new Set(["success", "failure", "cancelled", "neutral", "skipped", "stale", "timed_out", "action_required"]);

type RunStatus = "queued" | "in_progress" | "completed";
type RunConclusion = "success" | "failure" | "cancelled" | null;

interface Run {
  id: number;
  /** Every job of the run in this repository, oldest first. */
  jobs: JobRecord[];
  repository: string;
  workflowName: string;
  headBranch: string;
  headSha: string;
  runAttempt: number;
  status: RunStatus;
  conclusion: RunConclusion;
}

/** The repository a job belongs to: a repository job's own, an org job's `repository`. */
function jobRepository(job: JobRecord): string {
  return "repo" in job.scope ? job.scope.repo : job.repository;
}

function repoJobs(ctx: RouteContext): JobRecord[] {
  const repo = `${param(ctx, 0)}/${param(ctx, 1)}`.toLowerCase();
  return [...ctx.state.jobs.values()].filter((j) => jobRepository(j).toLowerCase() === repo);
}

/**
 * queued: nothing started yet; completed: every job completed; in_progress otherwise (a job
 * running, or some done and some still waiting). A completed run failed if a job failed, else it
 * was cancelled if a job was, else it succeeded (as GitHub concludes a run).
 */
function runState(jobs: readonly JobRecord[]): { status: RunStatus; conclusion: RunConclusion } {
  if (jobs.every((j) => j.status === "completed")) {
    const conclusion = jobs.some((j) => j.conclusion === "failure") ? "failure"
      : jobs.some((j) => j.conclusion === "cancelled") ? "cancelled" : "success";
    return { status: "completed", conclusion };
  }
  if (jobs.every((j) => j.status === "queued")) return { status: "queued", conclusion: null };
  return { status: "in_progress", conclusion: null };
}

/** The repository's runs, newest first (as GitHub lists them). */
function runsOf(jobs: readonly JobRecord[]): Run[] {
  const byRun = new Map<number, JobRecord[]>();
  for (const job of [...jobs].sort((a, b) => a.id - b.id)) {
    const list = byRun.get(job.runId);
    if (list === undefined) byRun.set(job.runId, [job]);
    else list.push(job);
  }
  const runs: Run[] = [];
  for (const [id, list] of byRun) {
    const first = list[0];
    if (first === undefined) continue;
    runs.push({
      id, jobs: list, repository: jobRepository(first), workflowName: first.workflowName, headBranch: first.headBranch,
      headSha: first.headSha, runAttempt: Math.max(...list.map((j) => j.runAttempt)), ...runState(list),
    });
  }
  // Newest first: by when the run's first job was queued, then by id.
  const created = (run: Run): number => Math.min(...run.jobs.map((j) => j.queuedAt));
  return runs.sort((a, b) => created(b) - created(a) || b.id - a.id);
}

function workflowSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "workflow";
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/** components/schemas/workflow-run */
function toApiRun(ctx: RouteContext, run: Run, all: readonly Run[], ownerType: "Organization" | "User"): Record<string, unknown> {
  const api = `${ctx.origin}/api/v3/repos/${run.repository}`;
  const path = `.github/workflows/${workflowSlug(run.workflowName)}.yml`;
  const workflowId = stableId(`${run.repository}:${path}`);
  const checkSuiteId = stableId(`check-suite:${run.repository}:${run.id}`);
  const repository = minimalRepository(ctx, run.repository, ownerType);
  const times = run.jobs.flatMap((j) => [j.queuedAt, j.startedAt, j.completedAt]).filter((t): t is number => t !== null);
  const createdAt = isoSeconds(Math.min(...run.jobs.map((j) => j.queuedAt)));
  // The run's number among its workflow's runs in this repository, oldest first.
  const sameWorkflow = all.filter((r) => r.workflowName === run.workflowName);
  const runNumber = sameWorkflow.length - sameWorkflow.indexOf(run);
  const actor = simpleUser(ctx.origin, accountId(ctx.state, SENDER_LOGIN), SENDER_LOGIN, "User");
  const title = `Update ${path}`;
  return {
    id: run.id, name: run.workflowName, node_id: nodeId("012:WorkflowRun", run.id),
    check_suite_id: checkSuiteId, check_suite_node_id: nodeId("010:CheckSuite", checkSuiteId),
    head_branch: run.headBranch, head_sha: run.headSha, path, run_number: runNumber, event: "push",
    display_title: title, status: run.status, conclusion: run.conclusion, workflow_id: workflowId,
    url: `${api}/actions/runs/${run.id}`, html_url: `${ctx.origin}/${run.repository}/actions/runs/${run.id}`,
    pull_requests: [], created_at: createdAt, updated_at: isoSeconds(Math.max(...times)),
    actor, run_attempt: run.runAttempt, referenced_workflows: [], run_started_at: createdAt, triggering_actor: actor,
    jobs_url: `${api}/actions/runs/${run.id}/jobs`, logs_url: `${api}/actions/runs/${run.id}/logs`,
    check_suite_url: `${api}/check-suites/${checkSuiteId}`, artifacts_url: `${api}/actions/runs/${run.id}/artifacts`,
    cancel_url: `${api}/actions/runs/${run.id}/cancel`, rerun_url: `${api}/actions/runs/${run.id}/rerun`,
    previous_attempt_url: run.runAttempt > 1 ? `${api}/actions/runs/${run.id}/attempts/${run.runAttempt - 1}` : null,
    workflow_url: `${api}/actions/workflows/${workflowId}`,
    head_commit: {
      id: run.headSha, tree_id: sha1(`tree-${run.headSha}`), message: title, timestamp: createdAt,
      author: { name: "Octo Cat", email: "octocat@github.com" }, committer: { name: "GitHub", email: "noreply@github.com" },
    },
    repository, head_repository: repository, head_repository_id: repository.id,
  };
}

/** One page (`per_page` ≤ 100, default 30; `page` from 1) and its `Link` header. */
function paginate<T>(ctx: RouteContext, items: readonly T[]): { slice: T[]; headers: Record<string, string> } {
  const perPage = clampInt(ctx.query.get("per_page"), 30, 1, 100);
  const page = clampInt(ctx.query.get("page"), 1, 1, Number.MAX_SAFE_INTEGER);
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const link = linkHeader(ctx, page, lastPage);
  return { slice: items.slice((page - 1) * perPage, page * perPage), headers: link === "" ? {} : { link } };
}

/** The repository owner's account type, as webhooks would show it for any of the repository's jobs. */
function ownerTypeOf(ctx: RouteContext, jobs: readonly JobRecord[]): "Organization" | "User" {
  const owner = param(ctx, 0);
  return jobs.some((j) => ownerIsOrg(ctx.state, j, owner)) ? "Organization" : "User";
}

function listRuns(ctx: RouteContext): Reply {
  const jobs = repoJobs(ctx);
  const all = runsOf(jobs);
  const ownerType = ownerTypeOf(ctx, jobs);
  const status = ctx.query.get("status");
  const branch = ctx.query.get("branch");
  const headSha = ctx.query.get("head_sha");
  const event = ctx.query.get("event");
  const runs = all.filter((run) => (status === null || (CONCLUSIONS.has(status) ? run.conclusion === status : run.status === status))
    && (branch === null || run.headBranch === branch)
    && (headSha === null || run.headSha === headSha)
    && (event === null || event === "push"));
  const { slice, headers } = paginate(ctx, runs);
  return { status: 200, headers, body: { total_count: runs.length, workflow_runs: slice.map((run) => toApiRun(ctx, run, all, ownerType)) } };
}

function listRunJobs(ctx: RouteContext): Reply {
  const runId = Number(param(ctx, 2));
  const run = runsOf(repoJobs(ctx)).find((r) => r.id === runId);
  if (run === undefined) throw new HttpError(404, "Not Found");
  // `latest`: the jobs of the run's latest attempt; `all`: every attempt's.
  const jobs = ctx.query.get("filter") === "all" ? run.jobs : run.jobs.filter((j) => j.runAttempt === run.runAttempt);
  const { slice, headers } = paginate(ctx, jobs);
  return { status: 200, headers, body: { total_count: jobs.length, jobs: slice.map((j) => workflowJob(ctx, j, j.status)) } };
}

function getJob(ctx: RouteContext): Reply {
  const jobId = Number(param(ctx, 2));
  const job = repoJobs(ctx).find((j) => j.id === jobId);
  if (job === undefined) throw new HttpError(404, "Not Found");
  return { status: 200, body: workflowJob(ctx, job, job.status) };
}

function route(tail: string, operationId: string, handle: Route["handle"]): Route {
  return { method: "GET", pattern: new RegExp(`^${REPO}${tail}$`), operationId, auth: "pat", body: "json", handle };
}

export const workflowRunRoutes: readonly Route[] = [
  route("/actions/runs", "actions/list-workflow-runs-for-repo", listRuns),
  route("/actions/runs/(\\d+)/jobs", "actions/list-jobs-for-workflow-run", listRunJobs),
  route("/actions/jobs/(\\d+)", "actions/get-job-for-workflow-run", getJob),
];
