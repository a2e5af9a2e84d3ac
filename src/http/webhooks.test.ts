import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startGitHubEmulator, type GitHubEmulator } from "../emulator/index.js";
import { parseConfig } from "../config/index.js";
import type { JobEvent } from "../store/job-types.js";
import { createLogger } from "../log.js";
import { buildHttpApp } from "./server.js";
import { signWebhookBody } from "./webhook-signature.js";
import { MAX_WEBHOOK_BYTES, WEBHOOK_PATH, webhookRoutes, type WebhookOutcome } from "./webhooks.js";

const config = parseConfig(
  `state_dir: /var/lib/runnerd-test
github:
  main: { auth: { type: push }, webhook_secret_file: /etc/runnerd/main-hook }
  other: { url: "https://ghe.example.com", auth: { type: push }, webhook_secret_file: /etc/runnerd/other-hook }
pools:
  - { name: app, connection: main, scope: { repo: octo/app }, image: x }
`,
  "runnerd.yaml",
);
const secrets = new Map([["main", { current: "main-secret" }], ["other", { current: "other-secret" }], ["removed", { current: "removed-secret" }]]);

let emu: GitHubEmulator;
beforeAll(async () => {
  emu = await startGitHubEmulator({ longPollMs: 1500 });
});
afterAll(async () => {
  await emu.close();
});

interface Harness {
  url: string;
  events: JobEvent[];
  /** Per event: whether its HTTP answer had been handed to the socket when onJobEvent ran. */
  answeredFirst: boolean[];
  outcomes: WebhookOutcome[];
  logText(): string;
  logs(): Record<string, unknown>[];
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function harness(opts: { onJobEvent?: (e: JobEvent) => void } = {}): Promise<Harness> {
  const lines: string[] = [];
  const logger = createLogger("debug", new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
      done();
    },
  }));
  const events: JobEvent[] = [];
  const answeredFirst: boolean[] = [];
  const outcomes: WebhookOutcome[] = [];
  const finished = new Set<string>();
  const app = await buildHttpApp({
    trustProxy: false,
    logger,
    routes: [webhookRoutes({
      config: () => config,
      secrets: () => secrets,
      logger,
      now: () => 1_700_000_000_000,
      onJobEvent: (event) => {
        answeredFirst.push(finished.has(event.deliveryId));
        events.push(event);
        opts.onJobEvent?.(event);
      },
      onDelivery: (outcome) => void outcomes.push(outcome),
    })],
  });
  app.server.on("request", (req: { headers: Record<string, unknown> }, res: { on(e: string, f: () => void): void }) => {
    res.on("finish", () => finished.add(String(req.headers["x-github-delivery"])));
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  apps.push(app);
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${WEBHOOK_PATH}`,
    events, answeredFirst, outcomes,
    logText: () => lines.join("\n"),
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** A realistic queued payload, as the emulator would send for a new job. */
function queuedBody(over: Record<string, unknown> = {}): string {
  const payload = {
    action: "queued",
    workflow_job: {
      id: 41, run_id: 9001, run_attempt: 2, name: "build", workflow_name: "CI", labels: ["self-hosted", "gpu"],
      runner_name: null, runner_group_name: null, conclusion: null, status: "queued", head_sha: "abc", steps: [],
      created_at: "2024-05-01T10:00:00Z", started_at: "2024-05-01T10:00:00Z", completed_at: null,
    },
    repository: { full_name: "Octo/App", id: 1 },
    sender: { login: "octocat" },
    ...over,
  };
  return JSON.stringify(payload);
}

async function post(h: Harness, body: string | Buffer, headers: Record<string, string | undefined>) {
  return emu.sendRawWebhook({ url: h.url, body, headers });
}
const signed = (secret: string, body: string) => ({ "x-hub-signature-256": signWebhookBody(secret, body) });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("POST /webhooks/github with the emulator", () => {
  it("turns GitHub's deliveries for a job's life into JobEvents, after answering", async () => {
    const h = await harness();
    const hookId = emu.addWebhook({ url: h.url, secret: "main-secret", scope: { repo: "octo/app" } });
    const job = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["self-hosted", "Linux"], script: "true", name: "test", workflowName: "Build" });
    const { runner } = emu.mintJitConfig({ repo: "octo/app" }, { name: "runnerd-app-1", labels: ["self-hosted", "linux"] });
    const auth = { authorization: `Bearer ${runner.credential}` };
    await fetch(`${emu.url}/_runner/sessions`, { method: "POST", headers: auth });
    expect(await (await fetch(`${emu.url}/_runner/message`, { method: "POST", headers: auth })).text()).toBe(String(job.id));
    await fetch(`${emu.url}/_runner/jobs/${job.id}/script`, { headers: auth });
    await fetch(`${emu.url}/_runner/jobs/${job.id}/complete`, { method: "POST", headers: auth, body: "exit_code=0" });
    await emu.webhooksIdle();
    await tick();

    const deliveries = emu.webhookDeliveries().filter((d) => d.hookId === hookId);
    expect(deliveries.map((d) => [d.event, d.action, d.status])).toEqual([
      ["ping", null, 200], ["workflow_job", "queued", 202], ["workflow_job", "in_progress", 202], ["workflow_job", "completed", 202],
    ]);
    expect(h.events.map((e) => e.action)).toEqual(["queued", "in_progress", "completed"]);
    expect(h.answeredFirst).toEqual([true, true, true]);
    const [queued, started, done] = h.events;
    expect(queued).toEqual({
      action: "queued", deliveryId: deliveries[1]?.id, connection: "main", jobId: job.id, runId: job.runId, runAttempt: 1,
      repository: "octo/app", workflowName: "Build", jobName: "test", labels: ["self-hosted", "Linux"], runnerName: null,
      runnerGroupName: null, conclusion: null, createdAt: Math.floor(job.queuedAt / 1000) * 1000, startedAt: null, completedAt: null,
      receivedAt: 1_700_000_000_000,
    });
    expect(started).toMatchObject({ action: "in_progress", runnerName: "runnerd-app-1", runnerGroupName: "Default", startedAt: expect.any(Number) as number });
    expect(done).toMatchObject({ action: "completed", conclusion: "success", completedAt: expect.any(Number) as number });
    expect(h.outcomes).toEqual(["ignored", "accepted", "accepted", "accepted"]);

    // A redelivery is a duplicate: answered 200, no second event.
    emu.redeliver(deliveries[1]?.id ?? "");
    await emu.webhooksIdle();
    await tick();
    expect(emu.webhookDeliveries().at(-1)).toMatchObject({ id: deliveries[1]?.id, redelivery: true, status: 200 });
    expect(h.events).toHaveLength(3);
    expect(h.outcomes.at(-1)).toBe("duplicate");

    // Held and released newest first: every event still arrives, each once.
    emu.pauseWebhooks();
    const a = emu.enqueueJob({ scope: { repo: "octo/app" }, labels: ["gpu"], script: "true" });
    emu.cancelJob(a.id);
    emu.resumeWebhooks({ order: "reverse" });
    await emu.webhooksIdle();
    await tick();
    expect(h.events.slice(3).map((e) => [e.jobId, e.action, e.conclusion])).toEqual([[a.id, "completed", "cancelled"], [a.id, "queued", null]]);
    expect(emu.violations).toEqual([]);
    emu.removeWebhook(hookId);
  });
});

describe("POST /webhooks/github", () => {
  it("refuses an unsigned delivery with 401 and logs who sent it, not what", async () => {
    const h = await harness();
    const body = queuedBody({ marker: "do-not-log-me" });
    const res = await post(h, body, { "x-github-delivery": "d-unsigned" });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ message: expect.stringMatching(/X-Hub-Signature-256/) as string });
    expect(h.outcomes).toEqual(["unsigned"]);
    const warn = h.logs().find((l) => l.msg === "webhook refused: unsigned");
    expect(warn).toMatchObject({ level: 40, delivery: "d-unsigned", event: "workflow_job", address: "127.0.0.1" });
    expect(h.logText()).not.toContain("do-not-log-me");
  });

  it("refuses a wrong signature, and a secret of a connection no longer configured", async () => {
    const h = await harness();
    const body = queuedBody();
    expect((await post(h, body, signed("guess", body))).status).toBe(401);
    expect((await post(h, body, signed("removed-secret", body))).status).toBe(401);
    expect((await post(h, body, { "x-hub-signature-256": "sha1=abc" })).status).toBe(401);
    // Signed over different bytes than were sent (a re-serialised body).
    expect((await post(h, body, signed("main-secret", JSON.stringify(JSON.parse(body), null, 2)))).status).toBe(401);
    expect(h.outcomes).toEqual(["bad-signature", "bad-signature", "bad-signature", "bad-signature"]);
    expect(h.events).toEqual([]);
    expect(h.logText()).not.toContain("main-secret");
  });

  it("accepts another connection's secret and says which connection it was", async () => {
    const h = await harness();
    const body = queuedBody();
    const res = await post(h, body, { ...signed("other-secret", body), "x-github-delivery": "d-other" });
    expect(res.status).toBe(202);
    await tick();
    expect(h.events).toEqual([{
      action: "queued", deliveryId: "d-other", connection: "other", jobId: 41, runId: 9001, runAttempt: 2, repository: "Octo/App",
      workflowName: "CI", jobName: "build", labels: ["self-hosted", "gpu"], runnerName: null, runnerGroupName: null, conclusion: null,
      createdAt: Date.parse("2024-05-01T10:00:00Z"), startedAt: null, completedAt: null, receivedAt: 1_700_000_000_000,
    }]);
  });

  it("answers a duplicate delivery 200 without a second event", async () => {
    const h = await harness();
    const body = queuedBody();
    const headers = { ...signed("main-secret", body), "x-github-delivery": "d-dup" };
    expect((await post(h, body, headers)).status).toBe(202);
    const again = await post(h, body, headers);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ duplicate: true });
    await tick();
    expect(h.events).toHaveLength(1);
    expect(h.outcomes).toEqual(["accepted", "duplicate"]);
  });

  it("answers ping 200 and other events 202 without acting", async () => {
    const h = await harness();
    const ping = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    expect((await post(h, ping, { ...signed("main-secret", ping), "x-github-event": "ping" })).status).toBe(200);
    const push = JSON.stringify({ ref: "refs/heads/main" });
    const res = await post(h, push, { ...signed("main-secret", push), "x-github-event": "push" });
    expect(res.status).toBe(202);
    const future = queuedBody({ action: "postponed" });
    expect((await post(h, future, signed("main-secret", future))).status).toBe(202);
    await tick();
    expect(h.events).toEqual([]);
    expect(h.outcomes).toEqual(["ignored", "ignored", "ignored"]);
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const h = await harness();
    const body = queuedBody({ padding: "x".repeat(MAX_WEBHOOK_BYTES) });
    const res = await post(h, body, signed("main-secret", body));
    expect(res.status).toBe(413);
    expect(h.outcomes).toEqual(["too-large"]);
  });

  it("answers 400 to a signed body that is not JSON or not a workflow_job", async () => {
    const h = await harness();
    const cases = [
      "{not json",
      queuedBody({ workflow_job: { id: "41", run_id: 1, name: "b", labels: [] } }),
      queuedBody({ repository: { name: "app" } }),
      JSON.stringify({ action: "queued", workflow_job: { id: 1, run_id: 1, name: "b", labels: [], created_at: "yesterday" }, repository: { full_name: "o/r" } }),
    ];
    for (const body of cases) {
      const res = await post(h, body, signed("main-secret", body));
      expect(res.status, body).toBe(400);
    }
    const noDelivery = queuedBody();
    expect((await post(h, noDelivery, { ...signed("main-secret", noDelivery), "x-github-delivery": undefined })).status).toBe(400);
    await tick();
    expect(h.events).toEqual([]);
    expect(h.outcomes).toEqual(["malformed", "malformed", "malformed", "malformed", "malformed"]);
    expect(h.logs().find((l) => l.msg === "webhook refused: malformed" && typeof l.detail === "string" && l.detail.includes("workflow_job.id"))).toBeDefined();
  });

  it("never repeats the body in a 400 answer", async () => {
    const h = await harness();
    const marker = "MARKER-abc123-not-echoed";
    const cases = [
      `{"action": "queued", "x": ${marker}}`,
      queuedBody({ workflow_job: { id: marker, run_id: 1, name: marker, labels: [marker] } }),
      JSON.stringify({ action: "queued", workflow_job: { id: 1, run_id: 1, name: "b", labels: [], created_at: marker }, repository: { full_name: marker } }),
    ];
    for (const body of cases) {
      const res = await post(h, body, signed("main-secret", body));
      expect(res.status, body).toBe(400);
      expect(res.body).not.toContain(marker);
    }
    // An action runnerd does not know is acknowledged, without naming it.
    const unknown = queuedBody({ action: marker });
    const res = await post(h, unknown, signed("main-secret", unknown));
    expect(res.status).toBe(202);
    expect(res.body).not.toContain(marker);
  });

  it("refuses a form-encoded hook with 415", async () => {
    const h = await harness();
    const body = `payload=${encodeURIComponent(queuedBody())}`;
    const res = await post(h, body, { ...signed("main-secret", body), "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(415);
    expect(JSON.parse(res.body)).toEqual({ message: "set the webhook's content type to application/json" });
    expect(h.outcomes).toEqual(["malformed"]);
  });

  it("still answers 202 when onJobEvent throws, and logs the failure", async () => {
    const h = await harness({ onJobEvent: () => { throw new Error("store is down"); } });
    const body = queuedBody();
    expect((await post(h, body, signed("main-secret", body))).status).toBe(202);
    await tick();
    expect(h.logs().find((l) => l.msg === "webhook onJobEvent failed")).toMatchObject({ level: 50, job_id: 41 });
  });
});
