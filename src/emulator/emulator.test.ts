// The emulator's own contract: REST shapes, auth, faults, and the job queue's assignment rules.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubEmulator } from "./index.js";
import type { GitHubEmulator, Scope } from "./index.js";
import { loadSchemaCatalog } from "./openapi-validator.js";

let emu: GitHubEmulator;

beforeEach(async () => {
  emu = await startGitHubEmulator({ longPollMs: 1500 });
});
afterEach(async () => {
  await emu.close();
});

function rest(path: string, init: RequestInit = {}, pat = emu.pat): Promise<Response> {
  return fetch(`${emu.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${pat}`, ...init.headers } });
}

/** Registers a runner over the runner protocol the way config.sh does, and returns its credential. */
async function registerListener(scope: Scope, name: string, labels: string[], ephemeral = true): Promise<string> {
  const url = "repo" in scope ? `${emu.url}/${scope.repo}` : `${emu.url}/${scope.org}`;
  const { token } = emu.mintRegistrationToken(scope);
  const tenant = await fetch(`${emu.apiUrl}/actions/runner-registration`, {
    method: "POST", headers: { authorization: `RemoteAuth ${token}` }, body: JSON.stringify({ url, runner_event: "register" }),
  });
  expect(tenant.status).toBe(200);
  const admin = (await tenant.json()) as { token: string };
  const reg = await fetch(`${emu.apiUrl}/actions/runners/register`, {
    method: "POST", headers: { authorization: `Bearer ${admin.token}` },
    body: JSON.stringify({ url, name, labels, ephemeral, updates_disabled: true, replace: false }),
  });
  expect(reg.status).toBe(200);
  const { credential } = (await reg.json()) as { credential: string };
  const session = await fetch(`${emu.url}/_runner/sessions`, { method: "POST", headers: { authorization: `Bearer ${credential}` } });
  expect(session.status).toBe(200);
  return credential;
}

async function poll(credential: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${emu.url}/_runner/message`, { method: "POST", headers: { authorization: `Bearer ${credential}` } });
  return { status: res.status, text: await res.text() };
}

async function runJob(credential: string, jobId: string, exitCode = 0): Promise<void> {
  const auth = { authorization: `Bearer ${credential}` };
  expect((await fetch(`${emu.url}/_runner/jobs/${jobId}/script`, { headers: auth })).status).toBe(200);
  await fetch(`${emu.url}/_runner/jobs/${jobId}/log`, { method: "POST", headers: auth, body: "line\n" });
  expect((await fetch(`${emu.url}/_runner/jobs/${jobId}/complete`, { method: "POST", headers: auth, body: `exit_code=${exitCode}` })).status).toBe(200);
}

describe("schema validation", () => {
  it("catches a response that does not match GitHub's schema", async () => {
    const catalog = await loadSchemaCatalog();
    const op = catalog.operation("actions/get-self-hosted-runner-for-repo");
    expect(op.checkResponse(200, { id: 1, name: "a", os: "Linux", status: "online", busy: false, labels: [], version: null })).toBeNull();
    expect(op.checkResponse(200, { id: "1", name: "a", os: "Linux", status: "online", labels: [] })).toMatch(/busy/);

    emu.failNext({ path: "registration-token", mutateBody: (body) => ({ ...(body as object), expires_at: 12 }) });
    const res = await rest("/repos/octo/app/actions/runners/registration-token", { method: "POST" });
    expect(res.status).toBe(500);
    expect(emu.violations).toHaveLength(1);
    expect(emu.violations[0]).toMatchObject({ direction: "response", operationId: "actions/create-registration-token-for-repo" });
    emu.violations.length = 0;
  });

  it("rejects and records a request body that does not match", async () => {
    const res = await rest("/orgs/octo/actions/runners/generate-jitconfig", { method: "POST", body: JSON.stringify({ name: "x", runner_group_id: 1 }) });
    expect(res.status).toBe(422);
    expect(emu.violations.map((v) => v.direction)).toEqual(["request"]);
    emu.violations.length = 0;
  });
});

describe("REST", () => {
  it("mints tokens under / and /api/v3, and answers 401 like GitHub", async () => {
    const ghes = await rest("/repos/octo/app/actions/runners/registration-token", { method: "POST" });
    expect(ghes.status).toBe(201);
    const body = (await ghes.json()) as { token: string; expires_at: string };
    expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(3500_000);
    emu.addPat("ghp_other");
    const dotcom = await fetch(`${emu.url}/orgs/octo/actions/runners/remove-token`, { method: "POST", headers: { authorization: "token ghp_other" } });
    expect(dotcom.status).toBe(201);
    const denied = await rest("/orgs/octo/actions/runners/registration-token", { method: "POST" }, "ghp_wrong");
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ message: "Bad credentials", documentation_url: expect.any(String) as string });
    expect(emu.violations).toEqual([]);
  });

  it("lists, pages, filters, gets and deletes runners", async () => {
    for (const name of ["a", "b", "c"]) emu.mintJitConfig({ repo: "octo/app" }, { name, labels: ["self-hosted", "x"] });
    emu.mintJitConfig({ org: "octo" }, { name: "org-runner", labels: ["self-hosted"] });
    const page = await rest("/repos/octo/app/actions/runners?per_page=2&page=1");
    expect(page.headers.get("link")).toMatch(/rel="next"/);
    expect(((await page.json()) as { total_count: number; runners: unknown[] })).toMatchObject({ total_count: 3 });
    const named = (await (await rest("/repos/octo/app/actions/runners?name=b")).json()) as { runners: Array<{ id: number; labels: Array<{ type: string }> }> };
    expect(named.runners).toHaveLength(1);
    const id = named.runners[0]?.id ?? 0;
    expect(named.runners[0]?.labels.map((l) => l.type)).toEqual(["read-only", "custom"]);
    expect((await rest(`/repos/octo/app/actions/runners/${id}`)).status).toBe(200);
    expect((await rest(`/repos/octo/app/actions/runners/${id}/labels`)).status).toBe(200);
    expect((await rest(`/orgs/octo/actions/runners/${id}`)).status).toBe(404);
    expect((await rest(`/repos/octo/app/actions/runners/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await rest(`/repos/octo/app/actions/runners/${id}`)).status).toBe(404);
    expect((await rest("/orgs/octo/actions/runners")).status).toBe(200);
    expect((await rest("/orgs/octo/actions/runner-groups")).status).toBe(200);
    const apps = (await (await rest("/repos/octo/app/actions/runners/downloads")).json()) as Array<{ download_url: string }>;
    const tarball = await fetch(apps[0]?.download_url ?? "");
    expect(tarball.status).toBe(200);
    expect((await tarball.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const jit = await rest("/orgs/octo/actions/runners/generate-jitconfig", { method: "POST", body: JSON.stringify({ name: "j", runner_group_id: 1, labels: ["self-hosted"] }) });
    expect(jit.status).toBe(201);
    expect(emu.violations).toEqual([]);
  });
});

describe("fault injection", () => {
  it("answers 5xx, 429 with Retry-After, and slow answers, then recovers", async () => {
    emu.failNext({ path: /registration-token$/, status: 503, times: 2 });
    emu.failNext({ path: "remove-token", method: "POST", status: 429, retryAfter: 7 });
    const path = "/repos/octo/app/actions/runners/registration-token";
    expect((await rest(path, { method: "POST" })).status).toBe(503);
    expect((await rest(path, { method: "POST" })).status).toBe(503);
    expect((await rest(path, { method: "POST" })).status).toBe(201);
    const limited = await rest("/repos/octo/app/actions/runners/remove-token", { method: "POST" });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    emu.failNext({ path, delayMs: 300 });
    const started = Date.now();
    expect((await rest(path, { method: "POST" })).status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("expires registration tokens on demand", async () => {
    const { token } = emu.mintRegistrationToken({ repo: "octo/app" });
    emu.expireRegistrationTokens();
    const res = await fetch(`${emu.apiUrl}/actions/runner-registration`, {
      method: "POST", headers: { authorization: `RemoteAuth ${token}` }, body: JSON.stringify({ url: `${emu.url}/octo/app`, runner_event: "register" }),
    });
    expect(res.status).toBe(401);
  });
});

describe("job queue", () => {
  it("assigns each job exactly once across several listening runners", async () => {
    const creds = await Promise.all(["r1", "r2", "r3", "r4"].map((n) => registerListener({ repo: "octo/app" }, n, ["self-hosted", "linux"])));
    const polls = creds.map((c) => poll(c));
    const jobs = [1, 2, 3].map(() => emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["Linux"], script: "true" }));
    const answers = await Promise.all(polls);
    const given = answers.filter((a) => a.status === 200).map((a) => a.text);
    expect(given.sort()).toEqual(jobs.map((j) => String(j.id)).sort());
    expect(answers.filter((a) => a.status === 204)).toHaveLength(1);
    await Promise.all(answers.map((a, i) => (a.status === 200 ? runJob(creds[i] ?? "", a.text) : Promise.resolve())));
    const done = await emu.waitForJobs(jobs.map((j) => j.id), 5000);
    expect(new Set(done.map((j) => j.runnerId)).size).toBe(3);
    // Ephemeral: the three that worked are gone; a new job goes only to the fourth.
    expect(emu.runners().map((r) => r.name)).toHaveLength(1);
    const idle = creds[answers.findIndex((a) => a.status === 204)] ?? "";
    const next = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "true" });
    for (const cred of creds.filter((c) => c !== idle)) expect((await poll(cred)).status).toBe(404);
    expect(await poll(idle)).toEqual({ status: 200, text: String(next.id) });
  });

  it("never gives an ephemeral runner a second job, and honours labels", async () => {
    const cred = await registerListener({ repo: "octo/app" }, "only", ["self-hosted", "linux"]);
    const gpu = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["gpu"], script: "true" });
    const first = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted"], script: "true" });
    const second = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted"], script: "true" });
    const answer = await poll(cred);
    expect(answer.text).toBe(String(first.id));
    await runJob(cred, answer.text);
    expect((await poll(cred)).status).toBe(404);
    expect(emu.job(second.id)?.status).toBe("queued");
    expect(emu.job(gpu.id)?.runnerId).toBeNull();
    await expect(emu.waitForJobs([second.id], 200)).rejects.toThrow(/job \d+ .*queued/);
  });

  it("lets an org runner take a repo job of its org, not of another owner", async () => {
    const cred = await registerListener({ org: "octo" }, "org-1", ["self-hosted"]);
    const other = emu.enqueueJob({ scope: { repo: "elsewhere/app" }, labels: ["self-hosted"], script: "true" });
    const mine = emu.enqueueJob({ scope: { repo: "Octo/app" }, labels: ["self-hosted"], script: "true" });
    const answer = await poll(cred);
    expect(answer.text).toBe(String(mine.id));
    await runJob(cred, answer.text, 1);
    expect(emu.job(mine.id)).toMatchObject({ conclusion: "failure", exitCode: 1, runnerName: "org-1", log: "line\n" });
    expect(emu.job(other.id)?.status).toBe("queued");
  });

  it("re-queues a job whose runner never fetched the script", async () => {
    await emu.close();
    emu = await startGitHubEmulator({ longPollMs: 1000, assignTimeoutMs: 200 });
    const slow = await registerListener({ repo: "octo/app" }, "slow", ["self-hosted"]);
    const pending = poll(slow);
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: [], script: "true" });
    expect((await pending).text).toBe(String(job.id));
    const fast = await registerListener({ repo: "octo/app" }, "fast", ["self-hosted"]);
    const answer = await poll(fast);
    expect(answer.text).toBe(String(job.id));
    expect(emu.job(job.id)).toMatchObject({ requeues: 1, runnerName: "fast" });
  });

  it("records listeningAt and serves the admin API", async () => {
    await registerListener({ repo: "octo/app" }, "adm", ["self-hosted"]);
    expect(emu.runners()[0]?.listeningAt).toBeGreaterThan(0);
    const created = await fetch(`${emu.url}/_admin/jobs`, { method: "POST", body: JSON.stringify({ scope: { repo: "octo/app" }, labels: [], script: "true", name: "n" }) });
    expect(created.status).toBe(201);
    expect(((await (await fetch(`${emu.url}/_admin/jobs`)).json()) as unknown[])).toHaveLength(1);
    expect(((await (await fetch(`${emu.url}/_admin/runners`)).json()) as unknown[])).toHaveLength(1);
    const token = await fetch(`${emu.url}/_admin/registration-token`, { method: "POST", body: JSON.stringify({ scope: { org: "octo" } }) });
    expect(token.status).toBe(201);
  });
});
