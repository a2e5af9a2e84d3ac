// The emulator's webhooks: GitHub's headers and signature, payloads that match GitHub's own
// `x-webhooks` schemas for every transition, and the delivery controls tests rely on.
import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubEmulator, type GitHubEmulator, type Scope } from "./index.js";
import { loadSchemaCatalog } from "./openapi-validator.js";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

let emu: GitHubEmulator;
let receiver: Server;
let hookUrl: string;
let received: Received[];
let answerStatus: number;

beforeEach(async () => {
  emu = await startGitHubEmulator({ longPollMs: 1500 });
  received = [];
  answerStatus = 202;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      received.push({ headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(answerStatus).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/github`;
});
afterEach(async () => {
  await emu.close();
  await new Promise((resolve) => receiver.close(resolve));
});

/** Takes a job the way the fake runner does: JIT registration, session, poll, script, complete. */
async function runQueuedJob(scope: Scope, labels: string[], exitCode = 0): Promise<void> {
  const { runner } = emu.mintJitConfig(scope, { name: `r-${Date.now()}`, labels });
  const auth = { authorization: `Bearer ${runner.credential}` };
  expect((await fetch(`${emu.url}/_runner/sessions`, { method: "POST", headers: auth })).status).toBe(200);
  const poll = await fetch(`${emu.url}/_runner/message`, { method: "POST", headers: auth });
  expect(poll.status).toBe(200);
  const jobId = await poll.text();
  expect((await fetch(`${emu.url}/_runner/jobs/${jobId}/script`, { headers: auth })).status).toBe(200);
  expect((await fetch(`${emu.url}/_runner/jobs/${jobId}/complete`, { method: "POST", headers: auth, body: `exit_code=${exitCode}` })).status).toBe(200);
}

const jobEvents = () => received.filter((r) => r.headers["x-github-event"] === "workflow_job");

describe("webhook deliveries", () => {
  it("enqueueJob works without any hook", () => {
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted"], script: "true" });
    expect(job).toMatchObject({ status: "queued", workflowName: "CI", runAttempt: 1 });
    expect(job.runId).toBeGreaterThan(0);
    expect(emu.webhookDeliveries()).toEqual([]);
  });

  it("pings a new hook and signs every delivery like GitHub", async () => {
    const hookId = emu.addWebhook({ url: hookUrl, secret: "s3cret" });
    emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted", "linux"], script: "true", name: "build" });
    await emu.webhooksIdle();
    expect(received.map((r) => r.headers["x-github-event"])).toEqual(["ping", "workflow_job"]);
    for (const r of received) {
      expect(r.headers["x-hub-signature-256"]).toBe(`sha256=${createHmac("sha256", "s3cret").update(r.body).digest("hex")}`);
      expect(r.headers["x-github-hook-id"]).toBe(String(hookId));
      expect(r.headers["x-github-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.headers["user-agent"]).toMatch(/^GitHub-Hookshot\//);
    }
    expect(received[0]?.json).toMatchObject({ hook_id: hookId, zen: expect.any(String) as string });
    expect(received[1]?.json).toMatchObject({
      action: "queued",
      workflow_job: { name: "build", status: "queued", labels: ["self-hosted", "linux"], runner_name: null, conclusion: null, workflow_name: "CI", head_branch: "main" },
      repository: { full_name: "octo/app" },
    });
    expect(received[1]?.headers["x-github-hook-installation-target-type"]).toBe("repository");
    expect(emu.webhookDeliveries().map((d) => [d.event, d.action, d.status])).toEqual([["ping", null, 202], ["workflow_job", "queued", 202]]);
    expect(emu.violations).toEqual([]);
  });

  it("sends queued, in_progress and completed, each matching GitHub's schema", async () => {
    emu.addWebhook({ url: hookUrl, secret: "s", ping: false });
    const repoJob = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted"], script: "true", workflowName: "Build" });
    await runQueuedJob({ repo: "octo/app" }, ["self-hosted"], 1);
    emu.enqueueJob({ scope: { org: "acme" }, labels: ["self-hosted"], script: "true", repository: "acme/web" });
    await runQueuedJob({ org: "acme" }, ["self-hosted"]);
    const cancelled = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["gpu"], script: "true" });
    emu.cancelJob(cancelled.id);
    await emu.webhooksIdle();

    const events = jobEvents().map((r) => r.json as { action: string; workflow_job: Record<string, unknown>; organization?: unknown });
    expect(events.map((e) => e.action)).toEqual(["queued", "in_progress", "completed", "queued", "in_progress", "completed", "queued", "completed"]);
    const catalog = await loadSchemaCatalog();
    for (const e of events) expect(catalog.webhook(`workflow-job-${e.action.replace("_", "-")}`)(e), e.action).toBeNull();

    const [queued, started, done] = events;
    expect(queued?.workflow_job).toMatchObject({ id: repoJob.id, run_id: repoJob.runId, workflow_name: "Build", runner_id: null });
    expect(started?.workflow_job).toMatchObject({ status: "in_progress", runner_name: expect.stringMatching(/^r-/) as string, runner_group_name: "Default" });
    expect(done?.workflow_job).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(queued?.organization).toBeUndefined();
    expect(events[3]).toMatchObject({ organization: { login: "acme" }, repository: { full_name: "acme/web" } });
    expect(events[7]?.workflow_job).toMatchObject({ conclusion: "cancelled", runner_name: null });
    expect(emu.violations).toEqual([]);
  });

  it("validates its own payloads: a broken one is a violation", async () => {
    const catalog = await loadSchemaCatalog();
    expect(catalog.webhook("workflow-job-queued")({ action: "queued", workflow_job: { id: "1" } })).toMatch(/repository|sender|workflow_job/);
    expect(() => catalog.webhook("no-such-hook")).toThrow(/not in the OpenAPI/);
  });

  it("gives an app's hook only installed accounts' jobs, with `installation`", async () => {
    const app = emu.createApp();
    const inst = emu.installApp(app.id, "acme");
    emu.addWebhook({ url: hookUrl, secret: "s", appId: app.id, ping: false });
    emu.enqueueJob({ scope: { repo: "acme/app" }, labels: ["x"], script: "true" });
    emu.enqueueJob({ scope: { repo: "other/app" }, labels: ["x"], script: "true" });
    await emu.webhooksIdle();
    expect(received).toHaveLength(1);
    expect(received[0]?.json).toMatchObject({ installation: { id: inst.id }, organization: { login: "acme" } });
    expect(received[0]?.headers["x-github-hook-installation-target-type"]).toBe("integration");
    expect(emu.violations).toEqual([]);
  });

  it("holds deliveries and releases them reversed; redelivers with the same id and body", async () => {
    emu.addWebhook({ url: hookUrl, secret: "s", ping: false });
    emu.pauseWebhooks();
    const a = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["x"], script: "true" });
    const b = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["x"], script: "true" });
    await emu.webhooksIdle();
    expect(received).toEqual([]);
    emu.resumeWebhooks({ order: "reverse" });
    await emu.webhooksIdle();
    expect(received.map((r) => (r.json.workflow_job as { id: number }).id)).toEqual([b.id, a.id]);

    const first = emu.webhookDeliveries()[0];
    if (first === undefined) throw new Error("no delivery");
    emu.redeliver(first.id);
    await emu.webhooksIdle();
    expect(received[2]?.headers["x-github-delivery"]).toBe(first.id);
    expect(received[2]?.body).toBe(received[1]?.body);
    expect(emu.webhookDeliveries()[2]).toMatchObject({ id: first.id, redelivery: true, status: 202 });
  });

  it("records the receiver's status, 0 when it cannot be reached", async () => {
    answerStatus = 500;
    emu.addWebhook({ url: hookUrl, secret: "s", ping: false });
    emu.addWebhook({ url: "http://127.0.0.1:1/nothing", secret: "s", ping: false });
    emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["x"], script: "true" });
    await emu.webhooksIdle();
    expect(emu.webhookDeliveries().map((d) => d.status)).toEqual([500, 0]);
    expect(emu.webhookDeliveries().every((d) => typeof d.durationMs === "number")).toBe(true);
  });

  it("filters by the hook's scope and posts raw bodies unsigned unless asked", async () => {
    emu.addWebhook({ url: hookUrl, secret: "s", scope: { org: "ACME" }, ping: false });
    emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["x"], script: "true" });
    emu.enqueueJob({ scope: { repo: "acme/app" }, labels: ["x"], script: "true" });
    await emu.webhooksIdle();
    expect(received).toHaveLength(1);

    const raw = await emu.sendRawWebhook({ body: '{"hello":1}' });
    expect(raw.status).toBe(202);
    expect(received[1]?.headers["x-hub-signature-256"]).toBeUndefined();
    await emu.sendRawWebhook({ body: "{}", signWith: "k", headers: { "x-github-event": "push" } });
    expect(received[2]?.headers).toMatchObject({ "x-github-event": "push", "x-hub-signature-256": `sha256=${createHmac("sha256", "k").update("{}").digest("hex")}` });
  });
});
