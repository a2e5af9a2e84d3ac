// POST /webhooks/github: GitHub's `workflow_job` deliveries. The signature is checked over the raw
// body before anything is parsed; the answer goes out at once (GitHub times out after 10 s and
// counts slow answers as failures) and the event is handed on after it.
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/types.js";
import { describeError } from "../errors.js";
import type { JobEvent } from "../jobs/types.js";
import { DeliveryIdCache } from "./delivery-ids.js";
import { verifyWebhookSignature } from "./webhook-signature.js";
import { parseWorkflowJob } from "./workflow-job-payload.js";

export const WEBHOOK_PATH = "/webhooks/github";
/** workflow_job payloads are about 10 KiB; GitHub caps any payload at 25 MB, far above what we need. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

export type WebhookOutcome = "accepted" | "duplicate" | "ignored" | "unsigned" | "bad-signature" | "malformed" | "too-large";

export interface WebhookDeps {
  /** The current configuration; read per delivery, so a reload applies at once. */
  config(): Config;
  /** Webhook secret per connection name (see readWebhookSecrets); only connections still configured count. */
  secrets(): ReadonlyMap<string, string>;
  logger: Logger;
  now(): number;
  /** Called after the answer was sent, once per accepted delivery. Errors are logged. */
  onJobEvent(event: JobEvent): void;
  /** For metrics: one call per request with its outcome. */
  onDelivery?(outcome: WebhookOutcome): void;
  /** How many delivery ids are remembered for deduplication; default 10,000. */
  dedupeCapacity?: number;
}

export function webhookRoutes(deps: WebhookDeps): FastifyPluginAsync {
  const log = deps.logger.child({ component: "webhooks" });
  const seen = new DeliveryIdCache(deps.dedupeCapacity);

  const header = (request: FastifyRequest, name: string): string | undefined => {
    const value = request.headers[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  /** What a log line says about a delivery: never its body or signature. Unverified, so cut short. */
  const about = (request: FastifyRequest) => ({
    delivery: header(request, "x-github-delivery")?.slice(0, 100),
    event: header(request, "x-github-event")?.slice(0, 100),
    hook_id: header(request, "x-github-hook-id")?.slice(0, 100),
    address: request.ip,
  });
  const outcome = (value: WebhookOutcome) => {
    try {
      deps.onDelivery?.(value);
    } catch (err) {
      log.error({ err: describeError(err) }, "webhook onDelivery failed");
    }
  };
  const refuse = (request: FastifyRequest, reply: FastifyReply, status: number, kind: WebhookOutcome, message: string, detail?: string) => {
    outcome(kind);
    log.warn({ ...about(request), status, reason: kind, detail }, `webhook refused: ${kind}`);
    return reply.code(status).send({ message });
  };

  /** Secrets of connections in the current configuration, in its order. */
  const activeSecrets = (): [string, string][] => {
    const secrets = deps.secrets();
    return Object.keys(deps.config().github).flatMap((name) => {
      const secret = secrets.get(name);
      return secret === undefined ? [] : [[name, secret] as [string, string]];
    });
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const signatureHeader = header(request, "x-hub-signature-256");
    if (signatureHeader === undefined) {
      return refuse(request, reply, 401, "unsigned", "missing X-Hub-Signature-256; set the webhook's secret");
    }
    const secrets = activeSecrets();
    const connection = verifyWebhookSignature(raw, signatureHeader, secrets);
    if (connection === undefined) {
      const detail = secrets.length === 0 ? "no configured connection has a webhook_secret_file" : undefined;
      return refuse(request, reply, 401, "bad-signature", "signature does not match", detail);
    }

    const event = header(request, "x-github-event");
    if (event === "ping") {
      outcome("ignored");
      log.info({ ...about(request), connection }, "webhook ping");
      return reply.code(200).send({ message: "pong" });
    }
    if (event !== "workflow_job") {
      outcome("ignored");
      log.debug({ ...about(request), connection }, "webhook event ignored");
      return reply.code(202).send({ message: `ignored: runnerd acts on workflow_job only` });
    }
    const deliveryId = header(request, "x-github-delivery");
    if (deliveryId === undefined) return refuse(request, reply, 400, "malformed", "missing X-GitHub-Delivery");
    if (seen.seen(deliveryId)) {
      outcome("duplicate");
      log.debug({ ...about(request), connection }, "webhook delivery seen before");
      return reply.code(200).send({ duplicate: true });
    }

    let payload: unknown;
    try {
      payload = JSON.parse(raw.toString("utf8"));
    } catch {
      return refuse(request, reply, 400, "malformed", "body is not valid JSON");
    }
    const parsed = parseWorkflowJob(payload, { deliveryId, connection, receivedAt: deps.now() });
    if (parsed.kind === "malformed") return refuse(request, reply, 400, "malformed", `not a workflow_job payload: ${parsed.detail}`, parsed.detail);
    seen.add(deliveryId);
    if (parsed.kind === "unknown-action") {
      outcome("ignored");
      log.debug({ ...about(request), connection, action: parsed.action }, "workflow_job action ignored");
      return reply.code(202).send({ message: `ignored: action ${parsed.action}` });
    }

    const jobEvent = parsed.event;
    outcome("accepted");
    log.debug({ ...about(request), connection, action: jobEvent.action, job_id: jobEvent.jobId, repository: jobEvent.repository }, "workflow_job accepted");
    // After the answer is written: whatever the daemon does with it never delays GitHub.
    setImmediate(() => {
      try {
        deps.onJobEvent(jobEvent);
      } catch (err) {
        log.error({ delivery: deliveryId, job_id: jobEvent.jobId, err: describeError(err) }, "webhook onJobEvent failed");
      }
    });
    return reply.code(202).send({ message: "accepted" });
  };

  return async (app) => {
    // The raw bytes are what GitHub signed; the JSON is parsed only once the signature holds.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("application/json", { parseAs: "buffer", bodyLimit: MAX_WEBHOOK_BYTES }, (_request, body, done) => done(null, body));
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const status = err.statusCode ?? 500;
      if (status === 413) return refuse(request, reply, 413, "too-large", `body larger than ${MAX_WEBHOOK_BYTES} bytes`);
      if (status === 415) return refuse(request, reply, 415, "malformed", "set the webhook's content type to application/json");
      if (status >= 400 && status < 500) return refuse(request, reply, status, "malformed", "bad request", err.code ?? err.name);
      log.error({ ...about(request), err: describeError(err) }, "webhook handling failed");
      return reply.code(500).send({ message: "internal error" });
    });
    app.post(WEBHOOK_PATH, { bodyLimit: MAX_WEBHOOK_BYTES }, handle);
  };
}
