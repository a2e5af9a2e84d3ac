// Bad-input corpus (issue 12), `POST /webhooks/github`: signatures, content types, bodies and
// events GitHub would never send as they are here. Every row gets its fixed answer, quotes nothing
// from the body, hands no event on, and leaves the delivery id unremembered: GitHub's redelivery
// of the same id, well formed this time, is accepted. What src/http/webhooks.test.ts already
// asserts (unsigned, another secret, sha1, a re-serialised body, a form-encoded hook, no delivery
// id, ids and times of the wrong type, a 1 MiB padding) is not repeated here.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.js";
import { buildHttpApp } from "../../src/http/server.js";
import { signWebhookBody } from "../../src/http/webhook-signature.js";
import { MAX_WEBHOOK_BYTES, WEBHOOK_PATH, webhookRoutes, type WebhookOutcome } from "../../src/http/webhooks.js";
import type { JobEvent } from "../../src/store/job-types.js";
import { MARKER, captureLogger } from "./bad-input-support.js";

const secret = "corpus-hook-secret";
const events: JobEvent[] = [];
const outcomes: WebhookOutcome[] = [];
let app: FastifyInstance;

beforeAll(async () => {
  const config = parseConfig(
    `github:\n  main: { auth: { type: push }, webhook_secret_file: /etc/runnerd/hook }\npools:\n  - { name: web, scope: { repo: acme/web }, image: x }\n`,
    "runnerd.yaml",
  );
  const { logger } = captureLogger();
  app = await buildHttpApp({
    trustProxy: false,
    logger,
    routes: [webhookRoutes({
      config: () => config,
      secrets: () => new Map([["main", { current: secret }]]),
      logger,
      now: () => 1_700_000_000_000,
      onJobEvent: (event) => void events.push(event),
      onDelivery: (outcome) => void outcomes.push(outcome),
    })],
  });
});
afterAll(async () => {
  await app.close();
});

/** A queued delivery as GitHub sends it; MARKER sits in fields runnerd reads. */
function queued(over: Record<string, unknown> = {}, job: Record<string, unknown> = {}): string {
  const workflowJob = { id: 41, run_id: 9001, run_attempt: 1, name: `build ${MARKER}`, workflow_name: MARKER, labels: ["self-hosted", MARKER], status: "queued", ...job };
  return JSON.stringify({ action: "queued", workflow_job: workflowJob, repository: { full_name: "acme/web" }, ...over });
}
const hmacBase64 = (body: string) => Buffer.from(signWebhookBody(secret, body).slice("sha256=".length), "hex").toString("base64");
const tick = () => new Promise((resolve) => setImmediate(resolve));

interface WebhookRow {
  name: string;
  body: string | Buffer;
  /** Replace or (undefined) drop the headers GitHub sends: a JSON content type, workflow_job, a delivery id and the body's signature. */
  headers?: Record<string, string | string[] | undefined>;
  status: number;
  message: string;
  outcome: WebhookOutcome;
}

const rows: WebhookRow[] = [
  // signatures
  { name: "a signature of 63 hex digits", body: queued(), headers: { "x-hub-signature-256": `sha256=${"a".repeat(63)}` }, status: 401, message: "signature does not match", outcome: "bad-signature" },
  { name: "an empty sha256= signature", body: queued(), headers: { "x-hub-signature-256": "sha256=" }, status: 401, message: "signature does not match", outcome: "bad-signature" },
  { name: "the right HMAC in base64 instead of hex", body: queued(), headers: { "x-hub-signature-256": `sha256=${hmacBase64(queued())}` }, status: 401, message: "signature does not match", outcome: "bad-signature" },
  { name: "the right HMAC without its sha256= prefix", body: queued(), headers: { "x-hub-signature-256": signWebhookBody(secret, queued()).slice("sha256=".length) }, status: 401, message: "signature does not match", outcome: "bad-signature" },
  { name: "a signature over the body without its last newline", body: `${queued()}\n`, headers: { "x-hub-signature-256": signWebhookBody(secret, queued()) }, status: 401, message: "signature does not match", outcome: "bad-signature" },
  { name: "the signature header sent twice", body: queued(), headers: { "x-hub-signature-256": [signWebhookBody(secret, queued()), signWebhookBody(secret, queued())] }, status: 401, message: "signature does not match", outcome: "bad-signature" },
  { name: "only the SHA-1 X-Hub-Signature", body: queued(), headers: { "x-hub-signature-256": undefined, "x-hub-signature": "sha1=0123456789abcdef0123456789abcdef01234567" }, status: 401, message: "missing X-Hub-Signature-256; set the webhook's secret", outcome: "unsigned" },
  // content types
  { name: "no content type", body: queued(), headers: { "content-type": undefined }, status: 415, message: "set the webhook's content type to application/json", outcome: "malformed" },
  { name: "text/plain", body: queued(), headers: { "content-type": "text/plain" }, status: 415, message: "set the webhook's content type to application/json", outcome: "malformed" },
  { name: "GitHub's media type for the REST API", body: queued(), headers: { "content-type": "application/vnd.github+json" }, status: 415, message: "set the webhook's content type to application/json", outcome: "malformed" },
  { name: "multipart/form-data", body: `--x\r\ncontent-disposition: form-data; name="payload"\r\n\r\n${queued()}\r\n--x--\r\n`, headers: { "content-type": "multipart/form-data; boundary=x" }, status: 415, message: "set the webhook's content type to application/json", outcome: "malformed" },
  // malformed JSON
  { name: "an empty body", body: "", status: 400, message: "body is not valid JSON", outcome: "malformed" },
  { name: "a byte order mark before the JSON", body: `\uFEFF${queued()}`, status: 400, message: "body is not valid JSON", outcome: "malformed" },
  { name: "text after the JSON", body: `${queued()} ${MARKER}`, status: 400, message: "body is not valid JSON", outcome: "malformed" },
  { name: "JSON cut short", body: queued().slice(0, 60), status: 400, message: "body is not valid JSON", outcome: "malformed" },
  { name: "bytes that are not UTF-8", body: Buffer.concat([Buffer.from(`{"action":"queued","${MARKER}":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "100,000 nested lists", body: `${"[".repeat(100_000)}${"]".repeat(100_000)}`, status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "a __proto__ key", body: `{"__proto__": {"action": "queued", "${MARKER}": 1}}`, status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  // huge bodies
  { name: "one byte over 1 MiB", body: queued({ pad: "x".repeat(MAX_WEBHOOK_BYTES + 1 - queued({ pad: "" }).length) }), status: 413, message: `body larger than ${MAX_WEBHOOK_BYTES} bytes`, outcome: "too-large" },
  { name: "2 MiB without a signature", body: "x".repeat(2 * MAX_WEBHOOK_BYTES), headers: { "x-hub-signature-256": undefined }, status: 413, message: `body larger than ${MAX_WEBHOOK_BYTES} bytes`, outcome: "too-large" },
  // events runnerd does not act on
  { name: "a workflow_run event", body: queued(), headers: { "x-github-event": "workflow_run" }, status: 202, message: "ignored: runnerd acts on workflow_job only", outcome: "ignored" },
  { name: "no X-GitHub-Event", body: queued(), headers: { "x-github-event": undefined }, status: 202, message: "ignored: runnerd acts on workflow_job only", outcome: "ignored" },
  { name: "the event name in another case", body: queued(), headers: { "x-github-event": "Workflow_Job" }, status: 202, message: "ignored: runnerd acts on workflow_job only", outcome: "ignored" },
  // missing fields and wrong types
  { name: "JSON null", body: "null", status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "a JSON list of deliveries", body: `[${queued()}]`, status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "no action", body: queued({ action: undefined }), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "an action that is a number", body: queued({ action: 1 }), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "no workflow_job", body: queued({ workflow_job: undefined }), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "no job name", body: queued({}, { name: undefined }), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "labels as an object", body: queued({}, { labels: { [MARKER]: true } }), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "a negative run id", body: queued({}, { run_id: -9001 }), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "a job id of 0", body: queued({}, { id: 0 }), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "a job id past 2^53", body: queued({}, { id: 2 ** 53 + 2 }), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "a repository name without its owner", body: queued({ repository: { full_name: MARKER } }), status: 400, message: "not a workflow_job payload", outcome: "malformed" },
  { name: "an empty X-GitHub-Delivery", body: queued(), headers: { "x-github-delivery": "" }, status: 400, message: "missing X-GitHub-Delivery", outcome: "malformed" },
];

function headersFor(row: WebhookRow, deliveryId: string): Record<string, string | string[]> {
  const headers: Record<string, string | string[] | undefined> = {
    "content-type": "application/json",
    "x-github-event": "workflow_job",
    "x-github-delivery": deliveryId,
    "x-hub-signature-256": signWebhookBody(secret, row.body),
    ...row.headers,
  };
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string | string[]] => entry[1] !== undefined));
}

describe("bad-input corpus: webhook deliveries", () => {
  rows.forEach((row, index) => {
    it(`answers ${row.name} with ${row.status}, acting on nothing`, async () => {
      const deliveryId = `corpus-${index}`;
      const before = { events: events.length, outcomes: outcomes.length };
      const res = await app.inject({ method: "POST", url: WEBHOOK_PATH, headers: headersFor(row, deliveryId), payload: row.body });
      await tick();
      expect(res.statusCode).toBe(row.status);
      expect(JSON.parse(res.body)).toEqual({ message: row.message });
      expect(res.body).not.toContain(MARKER);
      expect(outcomes.slice(before.outcomes)).toEqual([row.outcome]);
      expect(events).toHaveLength(before.events);

      // Not remembered: the well-formed redelivery of this id is accepted and handed on once.
      const good = queued();
      const again = await app.inject({ method: "POST", url: WEBHOOK_PATH, headers: headersFor({ ...row, body: good, headers: {} }, deliveryId), payload: good });
      await tick();
      expect(again.statusCode).toBe(202);
      expect(JSON.parse(again.body)).toEqual({ message: "accepted" });
      expect(events.slice(before.events).map((e) => e.deliveryId)).toEqual([deliveryId]);
    });
  });
});
