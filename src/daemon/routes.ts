// runnerd's HTTP routes, each handed only what it needs: /metrics, the workflow_job webhook, the
// status page and the HTTPS token push. Created once per daemon: rate limits and seen OIDC token
// ids must survive config reloads.
import type { FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import { createOidcVerifierCache, registrationTokenRoutes, statusPageRoutes, webhookRoutes } from "../http/index.js";
import { metricsRoutes, webhookSignatureCounter } from "../http/metrics.js";
import type { LxdClient } from "../lxd/index.js";
import type { Store } from "../store/index.js";
import type { LiveConfig } from "./live-config.js";
import type { Parts } from "./parts.js";
import { statusPageSnapshot } from "./status-page-data.js";

export interface RouteContext {
  live: LiveConfig;
  parts: Parts;
  store: Store;
  lxd: LxdClient;
  logger: Logger;
  now: () => number;
  startedAt: number;
}

export function daemonRoutes(ctx: RouteContext): FastifyPluginAsync[] {
  const { live, parts, logger, now } = ctx;
  const config = () => live.config;
  return [
    metricsRoutes(parts.registry),
    webhookRoutes({
      config,
      secrets: () => live.webhookSecrets,
      logger: logger.child({ task: "webhooks" }),
      now,
      onDelivery: (outcome) => parts.runnerMetrics.webhookDelivery(outcome),
      onSignature: webhookSignatureCounter(parts.registry),
      onJobEvent: parts.handleJob,
    }),
    statusPageRoutes({
      snapshot: () =>
        statusPageSnapshot({ config, reconciler: parts.reconciler, store: ctx.store, lxd: ctx.lxd, credentials: () => parts.publisher.credentials(), now, startedAt: ctx.startedAt }),
      subscribe: (notify) => parts.publisher.subscribe(notify),
    }),
    registrationTokenRoutes({
      config,
      store: ctx.store,
      logger: logger.child({ task: "token-push" }),
      now: () => new Date(now()),
      verifiers: createOidcVerifierCache(),
      onTokenStored: (scope) => parts.reconciler.requestPass(`token pushed for ${scope}`),
    }),
  ];
}
