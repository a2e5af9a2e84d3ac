// Rotating a webhook secret: while webhook_secret_previous_file is set, a delivery signed with
// either secret is accepted, and metrics and the log say which one signed it.
import { Writable } from "node:stream";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { parseConfig } from "../config/index.js";
import type { WebhookSecret } from "../credentials/webhook-secrets.js";
import { createLogger } from "../log.js";
import { webhookSignatureCounter } from "./metrics.js";
import { buildHttpApp } from "./server.js";
import { signWebhookBody } from "./webhook-signature.js";
import { WEBHOOK_PATH, webhookRoutes } from "./webhooks.js";

const config = parseConfig(
  `state_dir: /var/lib/runnerd-test
github:
  main: { auth: { type: push }, webhook_secret_file: /etc/runnerd/hook-new, webhook_secret_previous_file: /etc/runnerd/hook-old }
pools:
  - { name: app, scope: { repo: octo/app }, image: x }
`,
  "runnerd.yaml",
);

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function harness(secret: WebhookSecret) {
  const lines: string[] = [];
  const logger = createLogger("debug", new Writable({ write: (chunk: Buffer, _e, done) => void (lines.push(...chunk.toString().split("\n").filter(Boolean)), done()) }));
  const registry = new Registry();
  const app = await buildHttpApp({
    trustProxy: false,
    logger,
    routes: [webhookRoutes({ config: () => config, secrets: () => new Map([["main", secret]]), logger, now: Date.now, onJobEvent: () => {}, onSignature: webhookSignatureCounter(registry) })],
  });
  apps.push(app);
  let serial = 0;
  const deliver = async (key: string) => {
    const body = JSON.stringify({ zen: "hi" });
    const res = await app.inject({ method: "POST", url: WEBHOOK_PATH, payload: body, headers: { "content-type": "application/json", "x-github-event": "ping", "x-github-delivery": `d-${++serial}`, "x-hub-signature-256": signWebhookBody(key, body) } });
    return res.statusCode;
  };
  const count = async (secretKind: string) => (await registry.getSingleMetric("runnerd_webhook_signatures_total")?.get())?.values.find((v) => v.labels.secret === secretKind)?.value ?? 0;
  const logs = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { deliver, count, logs, text: () => lines.join("\n") };
}

describe("webhook secret rotation", () => {
  it("accepts the new and the previous secret, counts which signed, and logs each switch once", async () => {
    const h = await harness({ current: "new-secret", previous: "old-secret" });
    expect(await h.deliver("old-secret")).toBe(200);
    expect(await h.deliver("old-secret")).toBe(200);
    expect(await h.deliver("new-secret")).toBe(200);
    expect(await h.deliver("new-secret")).toBe(200);
    expect(await h.deliver("guessed")).toBe(401);
    expect(await h.count("previous")).toBe(2);
    expect(await h.count("current")).toBe(2);
    const switches = h.logs().filter((l) => typeof l.secret === "string" && l.level === 30);
    expect(switches.map((l) => [l.connection, l.secret])).toEqual([["main", "previous"], ["main", "current"]]);
    expect(String(switches[0]?.msg)).toMatch(/previous secret .*set the new one on the hook in GitHub/);
    expect(String(switches[1]?.msg)).toMatch(/remove webhook_secret_previous_file/);
    expect(h.text()).not.toContain("old-secret");
    expect(h.text()).not.toContain("new-secret");
  });

  it("without a previous secret, only the current one is accepted and nothing is said about rotation", async () => {
    const h = await harness({ current: "new-secret" });
    expect(await h.deliver("old-secret")).toBe(401);
    expect(await h.deliver("new-secret")).toBe(200);
    expect(await h.count("current")).toBe(1);
    expect(h.logs().filter((l) => l.secret !== undefined)).toEqual([]);
  });
});
