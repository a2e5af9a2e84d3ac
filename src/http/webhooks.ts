// POST /webhooks/github: GitHub's `workflow_job` deliveries. The signature is checked over the raw
// body before anything is parsed; the answer goes out at once (GitHub times out after 10 s and
// counts slow answers as failures) and the event is handed on after it.
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import type { WebhookSecret, WebhookSecretKind } from "../credentials/webhook-secrets.js";
import { describeError } from "../errors.js";
import type { JobEvent } from "../store/job-types.js";
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
  /** Webhook secrets per connection name (see readWebhookSecrets); only connections still configured count. */
  secrets(): ReadonlyMap<string, WebhookSecret>;
  logger: Logger;
  now(): number;
  /** Called after the answer was sent, once per accepted delivery. Errors are logged. */
  onJobEvent(event: JobEvent): void;
  /** For metrics: one call per request with its outcome. */
  onDelivery?(outcome: WebhookOutcome): void;
  /** For metrics: one call per signed request, with the connection and which of its secrets signed it. */
  onSignature?(connection: string, secret: WebhookSecretKind): void;
  /** How many delivery ids are remembered for deduplication; default 10,000. */
  dedupeCapacity?: number;
}

export function webhookRoutes(deps: WebhookDeps): FastifyPluginAsync {
  return new WebhookReceiver(deps).plugin();
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** What a log line says about a delivery: never its body or signature. Unverified, so cut short. */
function about(request: FastifyRequest) {
  return {
    delivery: header(request, "x-github-delivery")?.slice(0, 100),
    event: header(request, "x-github-event")?.slice(0, 100),
    hook_id: header(request, "x-github-hook-id")?.slice(0, 100),
    address: request.ip,
  };
}

/** The secret that signed a delivery. */
interface Signer {
  connection: string;
  secret: WebhookSecretKind;
}

/** The route's state (delivery ids seen) and its steps: verify, route, dedupe, parse, dispatch. */
class WebhookReceiver {
  private readonly log: Logger;
  private readonly seen: DeliveryIdCache;
  /** Per connection rotating its secret: which one signed the last delivery, to log each change once. */
  private readonly lastSigner = new Map<string, WebhookSecretKind>();

  constructor(private readonly deps: WebhookDeps) {
    this.log = deps.logger.child({ component: "webhooks" });
    this.seen = new DeliveryIdCache(deps.dedupeCapacity);
  }

  plugin(): FastifyPluginAsync {
    return async (app) => {
      // The raw bytes are what GitHub signed; the JSON is parsed only once the signature holds.
      app.removeAllContentTypeParsers();
      app.addContentTypeParser("application/json", { parseAs: "buffer", bodyLimit: MAX_WEBHOOK_BYTES }, (_request, body, done) => done(null, body));
      app.setErrorHandler(this.onError);
      app.post(WEBHOOK_PATH, { bodyLimit: MAX_WEBHOOK_BYTES }, this.handle);
    };
  }

  private outcome(value: WebhookOutcome) {
    try {
      this.deps.onDelivery?.(value);
    } catch (err) {
      this.log.error({ err: describeError(err) }, "webhook onDelivery failed");
    }
  }

  private refuse(request: FastifyRequest, reply: FastifyReply, status: number, kind: WebhookOutcome, message: string, detail?: string) {
    this.outcome(kind);
    this.log.warn({ ...about(request), status, reason: kind, detail }, `webhook refused: ${kind}`);
    return reply.code(status).send({ message });
  }

  /** Secrets of connections in the current configuration, in its order; a connection's current secret before its previous one. */
  private activeSecrets(): [Signer, string][] {
    const secrets = this.deps.secrets();
    return Object.keys(this.deps.config().github).flatMap((connection) => {
      const secret = secrets.get(connection);
      if (secret === undefined) return [];
      const current: [Signer, string] = [{ connection, secret: "current" }, secret.current];
      return secret.previous === undefined ? [current] : [current, [{ connection, secret: "previous" }, secret.previous] as [Signer, string]];
    });
  }

  /** Counts which secret signed; logs when that changes during a rotation, so the operator knows when the old one is unused. */
  private noteSigner(request: FastifyRequest, signer: Signer) {
    try {
      this.deps.onSignature?.(signer.connection, signer.secret);
    } catch (err) {
      this.log.error({ err: describeError(err) }, "webhook onSignature failed");
    }
    const rotating = this.deps.secrets().get(signer.connection)?.previous !== undefined;
    if (!rotating || this.lastSigner.get(signer.connection) === signer.secret) return;
    this.lastSigner.set(signer.connection, signer.secret);
    const message =
      signer.secret === "previous"
        ? "webhook deliveries are signed with the previous secret (webhook_secret_previous_file): set the new one on the hook in GitHub"
        : "webhook deliveries are signed with the new secret (webhook_secret_file); once runnerd_webhook_signatures_total{secret=\"previous\"} stops growing, remove webhook_secret_previous_file";
    this.log.info({ ...about(request), connection: signer.connection, secret: signer.secret }, message);
  }

  // Arrow functions: fastify calls handlers with itself as `this`.
  private readonly handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const signer = this.verifySignature(request, reply, raw);
    if (!("secret" in signer)) return signer;
    this.noteSigner(request, signer);
    const { connection } = signer;
    const event = header(request, "x-github-event");
    if (event !== "workflow_job") return this.answerOtherEvent(request, reply, connection, event);
    const deliveryId = header(request, "x-github-delivery");
    if (deliveryId === undefined) return this.refuse(request, reply, 400, "malformed", "missing X-GitHub-Delivery");
    if (this.seen.seen(deliveryId)) {
      this.outcome("duplicate");
      this.log.debug({ ...about(request), connection }, "webhook delivery seen before");
      return reply.code(200).send({ duplicate: true });
    }
    return this.accept(request, reply, raw, deliveryId, connection);
  };

  /** The connection and secret that signed the body, or the 401 refusal sent. */
  private verifySignature(request: FastifyRequest, reply: FastifyReply, raw: Buffer): Signer | FastifyReply {
    const signatureHeader = header(request, "x-hub-signature-256");
    if (signatureHeader === undefined) {
      return this.refuse(request, reply, 401, "unsigned", "missing X-Hub-Signature-256; set the webhook's secret");
    }
    const secrets = this.activeSecrets();
    const signer = verifyWebhookSignature(raw, signatureHeader, secrets);
    if (signer === undefined) {
      const detail = secrets.length === 0 ? "no configured connection has a webhook_secret_file" : undefined;
      return this.refuse(request, reply, 401, "bad-signature", "signature does not match", detail);
    }
    return signer;
  }

  /** Answers a ping, and any other event than workflow_job, without acting on it. */
  private answerOtherEvent(request: FastifyRequest, reply: FastifyReply, connection: string, event: string | undefined) {
    this.outcome("ignored");
    if (event === "ping") {
      this.log.info({ ...about(request), connection }, "webhook ping");
      return reply.code(200).send({ message: "pong" });
    }
    this.log.debug({ ...about(request), connection }, "webhook event ignored");
    return reply.code(202).send({ message: `ignored: runnerd acts on workflow_job only` });
  }

  /** Parses a new workflow_job delivery, remembers its id, and hands on the event it describes. */
  private accept(request: FastifyRequest, reply: FastifyReply, raw: Buffer, deliveryId: string, connection: string) {
    let payload: unknown;
    try {
      payload = JSON.parse(raw.toString("utf8"));
    } catch {
      return this.refuse(request, reply, 400, "malformed", "body is not valid JSON");
    }
    const parsed = parseWorkflowJob(payload, { deliveryId, connection, receivedAt: this.deps.now() });
    // The detail (which fields) goes to the log only: no answer repeats any part of the body.
    if (parsed.kind === "malformed") return this.refuse(request, reply, 400, "malformed", "not a workflow_job payload", parsed.detail);
    this.seen.add(deliveryId);
    if (parsed.kind === "unknown-action") {
      this.outcome("ignored");
      this.log.debug({ ...about(request), connection, action: parsed.action.slice(0, 100) }, "workflow_job action ignored");
      return reply.code(202).send({ message: "ignored: runnerd does not act on this action" });
    }
    this.dispatch(request, deliveryId, connection, parsed.event);
    return reply.code(202).send({ message: "accepted" });
  }

  /** Counts and logs an accepted event, and hands it on once the answer is out. */
  private dispatch(request: FastifyRequest, deliveryId: string, connection: string, jobEvent: JobEvent) {
    this.outcome("accepted");
    this.log.debug({ ...about(request), connection, action: jobEvent.action, job_id: jobEvent.jobId, repository: jobEvent.repository }, "workflow_job accepted");
    // After the answer is written: whatever the daemon does with it never delays GitHub.
    setImmediate(() => {
      try {
        this.deps.onJobEvent(jobEvent);
      } catch (err) {
        this.log.error({ delivery: deliveryId, job_id: jobEvent.jobId, err: describeError(err) }, "webhook onJobEvent failed");
      }
    });
  }

  private readonly onError = (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = err.statusCode ?? 500;
    if (status === 413) return this.refuse(request, reply, 413, "too-large", `body larger than ${MAX_WEBHOOK_BYTES} bytes`);
    if (status === 415) return this.refuse(request, reply, 415, "malformed", "set the webhook's content type to application/json");
    if (status >= 400 && status < 500) return this.refuse(request, reply, status, "malformed", "bad request", err.code ?? err.name);
    this.log.error({ ...about(request), err: describeError(err) }, "webhook handling failed");
    return reply.code(500).send({ message: "internal error" });
  };
}
