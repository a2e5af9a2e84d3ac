// Workflow runs and jobs over REST: runs grouped from jobs by runId, their status and conclusion,
// status filters, paging, 404s, and Actions: read for installation tokens.
import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubEmulator } from "./index.js";
import type { GitHubEmulator, JobRecord, Scope } from "./index.js";

let emu: GitHubEmulator;
let octokit: Octokit;

/** Octokit logs every error answer; the 403s here are expected. */
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

beforeEach(async () => {
  emu = await startGitHubEmulator({ longPollMs: 1000 });
  octokit = new Octokit({ baseUrl: emu.apiUrl, auth: emu.pat });
});
afterEach(async () => {
  expect(emu.violations).toEqual([]);
  await emu.close();
});

function get(path: string, auth: string | null = emu.pat): Promise<Response> {
  return fetch(`${emu.apiUrl}${path}`, { headers: auth === null ? {} : { authorization: `Bearer ${auth}` } });
}

interface Taken {
  jobId: number;
  complete(exitCode: number): Promise<void>;
}

/** Takes the oldest queued job matching `labels` the way the fake runner does, and starts it. */
async function startJob(scope: Scope, labels: string[]): Promise<Taken> {
  const { runner } = emu.mintJitConfig(scope, { name: `r-${labels.join("-")}-${Date.now()}`, labels });
  const headers = { authorization: `Bearer ${runner.credential}` };
  expect((await fetch(`${emu.url}/_runner/sessions`, { method: "POST", headers })).status).toBe(200);
  const poll = await fetch(`${emu.url}/_runner/message`, { method: "POST", headers });
  expect(poll.status).toBe(200);
  const jobId = Number(await poll.text());
  expect((await fetch(`${emu.url}/_runner/jobs/${jobId}/script`, { headers })).status).toBe(200);
  return {
    jobId,
    async complete(exitCode) {
      const res = await fetch(`${emu.url}/_runner/jobs/${jobId}/complete`, { method: "POST", headers, body: `exit_code=${exitCode}` });
      expect(res.status).toBe(200);
    },
  };
}

const REPO = { repo: "octo/app" };

function enqueue(label: string, opts: { runId?: number; scope?: Scope; repository?: string; workflowName?: string } = {}): JobRecord {
  return emu.enqueueJob({
    scope: opts.scope ?? REPO, labels: ["self-hosted", label], script: "true", name: `job-${label}`,
    ...(opts.runId === undefined ? {} : { runId: opts.runId }),
    ...(opts.repository === undefined ? {} : { repository: opts.repository }),
    ...(opts.workflowName === undefined ? {} : { workflowName: opts.workflowName }),
  });
}

/** One run in every state, in octo/app, plus jobs of other repositories. */
async function seedRuns(): Promise<Record<string, number>> {
  const queued = enqueue("q1");
  enqueue("q2", { runId: queued.runId });
  const running = enqueue("run");
  await startJob(REPO, ["self-hosted", "run"]);
  const partly = enqueue("p1");
  enqueue("p2", { runId: partly.runId });
  await (await startJob(REPO, ["self-hosted", "p1"])).complete(0);
  const passed = enqueue("ok");
  await (await startJob(REPO, ["self-hosted", "ok"])).complete(0);
  const failed = enqueue("bad");
  enqueue("bad-ok", { runId: failed.runId });
  await (await startJob(REPO, ["self-hosted", "bad"])).complete(1);
  await (await startJob(REPO, ["self-hosted", "bad-ok"])).complete(0);
  const cancelled = enqueue("cancel");
  emu.cancelJob(cancelled.id);
  // An org job of this repository belongs to it; another repository's jobs do not.
  const orgJob = enqueue("org", { scope: { org: "octo" }, repository: "octo/app", workflowName: "Deploy" });
  enqueue("other", { scope: { repo: "octo/other" } });
  enqueue("org-other", { scope: { org: "octo" }, repository: "octo/elsewhere" });
  return {
    queued: queued.runId, running: running.runId, partly: partly.runId, passed: passed.runId,
    failed: failed.runId, cancelled: cancelled.runId, org: orgJob.runId,
  };
}

describe("workflow runs", () => {
  it("groups a repository's jobs into runs with GitHub's status and conclusion, newest first", async () => {
    const runs = await seedRuns();
    const { data, headers } = await octokit.rest.actions.listWorkflowRunsForRepo({ owner: "octo", repo: "app" });
    expect(headers.link).toBeUndefined();
    expect(data.total_count).toBe(7);
    expect(data.workflow_runs.map((r) => [r.id, r.status, r.conclusion])).toEqual([
      [runs.org, "queued", null],
      [runs.cancelled, "completed", "cancelled"],
      [runs.failed, "completed", "failure"],
      [runs.passed, "completed", "success"],
      [runs.partly, "in_progress", null],
      [runs.running, "in_progress", null],
      [runs.queued, "queued", null],
    ]);
    const queued = data.workflow_runs.find((r) => r.id === runs.queued);
    const job = emu.jobs().find((j) => j.runId === runs.queued);
    expect(queued).toMatchObject({
      name: "CI", head_branch: "main", head_sha: job?.headSha, event: "push", run_attempt: 1, pull_requests: [],
      url: `${emu.apiUrl}/repos/octo/app/actions/runs/${runs.queued}`,
      jobs_url: `${emu.apiUrl}/repos/octo/app/actions/runs/${runs.queued}/jobs`,
      html_url: `${emu.url}/octo/app/actions/runs/${runs.queued}`,
      head_commit: { id: job?.headSha },
      repository: { full_name: "octo/app", owner: { login: "octo", type: "Organization" } },
      head_repository: { full_name: "octo/app" },
    });
    // Run numbers count per workflow, oldest first.
    expect(data.workflow_runs.filter((r) => r.name === "CI").map((r) => r.run_number)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(data.workflow_runs.find((r) => r.id === runs.org)).toMatchObject({ name: "Deploy", run_number: 1, path: ".github/workflows/deploy.yml" });
  });

  it("filters on the run's status, or on its conclusion for a conclusion value", async () => {
    const runs = await seedRuns();
    const ids = async (status: string): Promise<number[]> => {
      const res = await get(`/repos/octo/app/actions/runs?status=${status}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { total_count: number; workflow_runs: { id: number }[] };
      expect(body.total_count).toBe(body.workflow_runs.length);
      return body.workflow_runs.map((r) => r.id);
    };
    expect(await ids("queued")).toEqual([runs.org, runs.queued]);
    expect(await ids("in_progress")).toEqual([runs.partly, runs.running]);
    expect(await ids("completed")).toEqual([runs.cancelled, runs.failed, runs.passed]);
    expect(await ids("success")).toEqual([runs.passed]);
    expect(await ids("failure")).toEqual([runs.failed]);
    expect(await ids("cancelled")).toEqual([runs.cancelled]);
    expect(await ids("waiting")).toEqual([]);
    expect(await ids("timed_out")).toEqual([]);
    // The other repository's runs are its own.
    const other = await octokit.rest.actions.listWorkflowRunsForRepo({ owner: "octo", repo: "other", status: "queued" });
    expect(other.data.workflow_runs.map((r) => r.repository.full_name)).toEqual(["octo/other"]);
  });

  it("pages runs with a Link header, and octokit's paginate collects them all", async () => {
    const ids = Array.from({ length: 5 }, (_, i) => enqueue(`l${i}`).runId).reverse();
    const first = await get("/repos/octo/app/actions/runs?status=queued&per_page=2");
    const body = (await first.json()) as { total_count: number; workflow_runs: { id: number }[] };
    expect(body).toMatchObject({ total_count: 5 });
    expect(body.workflow_runs.map((r) => r.id)).toEqual(ids.slice(0, 2));
    const link = first.headers.get("link") ?? "";
    expect(link).toContain('rel="next"');
    expect(link).toContain("status=queued");
    expect(link).toMatch(/[?&]page=3>; rel="last"/);
    const last = await get("/repos/octo/app/actions/runs?status=queued&per_page=2&page=3");
    expect(((await last.json()) as { workflow_runs: { id: number }[] }).workflow_runs.map((r) => r.id)).toEqual(ids.slice(4));
    expect(last.headers.get("link")).toContain('rel="prev"');
    const all = await octokit.paginate(octokit.rest.actions.listWorkflowRunsForRepo, { owner: "octo", repo: "app", status: "queued", per_page: 2 });
    expect(all.map((r) => r.id)).toEqual(ids);
  });
});

describe("workflow run jobs", () => {
  it("lists a run's jobs as GitHub's job objects", async () => {
    const first = enqueue("a");
    const second = enqueue("b", { runId: first.runId });
    const third = enqueue("c", { runId: first.runId });
    const taken = await startJob(REPO, ["self-hosted", "a"]);
    await (await startJob(REPO, ["self-hosted", "b"])).complete(1);
    const runnerName = emu.job(taken.jobId)?.runnerName;

    const { data } = await octokit.rest.actions.listJobsForWorkflowRun({ owner: "octo", repo: "app", run_id: first.runId, filter: "latest" });
    expect(data.total_count).toBe(3);
    expect(data.jobs.map((j) => [j.id, j.status, j.conclusion])).toEqual([
      [first.id, "in_progress", null], [second.id, "completed", "failure"], [third.id, "queued", null],
    ]);
    expect(data.jobs[0]).toMatchObject({
      run_id: first.runId, run_attempt: 1, name: "job-a", labels: ["self-hosted", "a"], workflow_name: "CI", head_branch: "main",
      head_sha: first.headSha, runner_name: runnerName, runner_group_name: "Default", completed_at: null,
      url: `${emu.apiUrl}/repos/octo/app/actions/jobs/${first.id}`, run_url: `${emu.apiUrl}/repos/octo/app/actions/runs/${first.runId}`,
    });
    expect(data.jobs[1]?.completed_at).toEqual(expect.any(String));
    expect(data.jobs[1]?.steps?.length).toBeGreaterThan(0);
    expect(data.jobs[2]).toMatchObject({ runner_id: null, runner_name: null, runner_group_id: null, steps: [] });

    const all = await octokit.rest.actions.listJobsForWorkflowRun({ owner: "octo", repo: "app", run_id: first.runId, filter: "all" });
    expect(all.data.jobs.map((j) => j.id)).toEqual([first.id, second.id, third.id]);

    const page = await get(`/repos/octo/app/actions/runs/${first.runId}/jobs?per_page=2&page=2`);
    expect(((await page.json()) as { total_count: number; jobs: { id: number }[] })).toMatchObject({ total_count: 3, jobs: [{ id: third.id }] });
    expect(page.headers.get("link")).toContain('rel="first"');
    const paged = await octokit.paginate(octokit.rest.actions.listJobsForWorkflowRun, { owner: "octo", repo: "app", run_id: first.runId, per_page: 1 });
    expect(paged.map((j) => j.id)).toEqual([first.id, second.id, third.id]);
  });

  it("answers 404 for an unknown run or another repository's run", async () => {
    const job = enqueue("x");
    const other = enqueue("y", { scope: { repo: "octo/other" } });
    expect((await get(`/repos/octo/app/actions/runs/${job.runId}/jobs`)).status).toBe(200);
    expect((await get(`/repos/octo/app/actions/runs/999999/jobs`)).status).toBe(404);
    const res = await get(`/repos/octo/app/actions/runs/${other.runId}/jobs`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ message: "Not Found" });
  });
});

describe("single job", () => {
  it("reads one job of the repository, org jobs of it included, and 404s others", async () => {
    const job = enqueue("one");
    const orgJob = enqueue("org", { scope: { org: "octo" }, repository: "octo/app" });
    const other = enqueue("two", { scope: { repo: "octo/other" } });
    const { data } = await octokit.rest.actions.getJobForWorkflowRun({ owner: "octo", repo: "app", job_id: job.id });
    expect(data).toMatchObject({ id: job.id, run_id: job.runId, status: "queued", conclusion: null, labels: ["self-hosted", "one"] });
    expect((await octokit.rest.actions.getJobForWorkflowRun({ owner: "Octo", repo: "App", job_id: orgJob.id })).data.id).toBe(orgJob.id);

    const taken = await startJob(REPO, ["self-hosted", "one"]);
    await taken.complete(0);
    expect((await octokit.rest.actions.getJobForWorkflowRun({ owner: "octo", repo: "app", job_id: job.id })).data)
      .toMatchObject({ status: "completed", conclusion: "success", runner_name: emu.job(job.id)?.runnerName });

    expect((await get(`/repos/octo/app/actions/jobs/${other.id}`)).status).toBe(404);
    expect((await get(`/repos/octo/app/actions/jobs/424242`)).status).toBe(404);
    expect((await get(`/repos/octo/app/actions/jobs/${job.id}`, null)).status).toBe(401);

    // The answers are checked against GitHub's schema: a job without a status is a 500 and a violation.
    emu.failNext({ path: "/actions/jobs/", mutateBody: (body) => ({ ...(body as object), status: undefined }) });
    expect((await get(`/repos/octo/app/actions/jobs/${job.id}`)).status).toBe(500);
    expect(emu.violations.splice(0)).toMatchObject([{ operationId: "actions/get-job-for-workflow-run", direction: "response" }]);
  });
});

describe("installation tokens", () => {
  it("read runs and jobs with an app's default permissions; without actions they get 403", async () => {
    const job = enqueue("app");
    const app = emu.createApp();
    const inst = emu.installApp(app.id, "octo");
    const asInstallation = new Octokit({
      baseUrl: emu.apiUrl, authStrategy: createAppAuth, log: quiet,
      auth: { appId: app.id, privateKey: app.privateKeyPem, installationId: inst.id },
    });
    const runs = await asInstallation.rest.actions.listWorkflowRunsForRepo({ owner: "octo", repo: "app", status: "queued" });
    expect(runs.data.workflow_runs.map((r) => r.id)).toEqual([job.runId]);
    const jobs = await asInstallation.rest.actions.listJobsForWorkflowRun({ owner: "octo", repo: "app", run_id: job.runId });
    expect(jobs.data.jobs.map((j) => j.id)).toEqual([job.id]);
    expect((await asInstallation.rest.actions.getJobForWorkflowRun({ owner: "octo", repo: "app", job_id: job.id })).data.id).toBe(job.id);

    // Another account's repository, or a token without actions: read.
    await expect(asInstallation.rest.actions.listWorkflowRunsForRepo({ owner: "someone", repo: "else" })).rejects.toMatchObject({ status: 403 });
    const appAuth = createAppAuth({ appId: app.id, privateKey: app.privateKeyPem, request: asInstallation.request });
    const { token } = await appAuth({ type: "installation", installationId: inst.id, permissions: { administration: "write", metadata: "read" } });
    const narrow = new Octokit({ baseUrl: emu.apiUrl, auth: token, log: quiet });
    await expect(narrow.rest.actions.listWorkflowRunsForRepo({ owner: "octo", repo: "app" })).rejects.toMatchObject({ status: 403 });
    await expect(narrow.rest.actions.getJobForWorkflowRun({ owner: "octo", repo: "app", job_id: job.id })).rejects.toMatchObject({ status: 403 });
    expect((await narrow.rest.actions.listSelfHostedRunnersForRepo({ owner: "octo", repo: "app" })).status).toBe(200);
  });
});
