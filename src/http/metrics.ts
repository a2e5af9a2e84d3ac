// `GET /metrics` in Prometheus's text format. Values are read from the daemon at scrape time
// (credential health, GitHub budgets and request counts), so nothing has to be kept in sync.
// Issue-5 metrics (runners, spawns, jobs) join this registry.
import type { FastifyPluginAsync } from "fastify";
import { Counter, Gauge, Registry } from "prom-client";
import type { CredentialHealth } from "../credentials/health.js";
import type { GitHubConnectionReport } from "../github/report.js";

export interface MetricsSource {
  credentials(): CredentialHealth[];
  github(): GitHubConnectionReport[];
  now(): number;
}

const healthLevels = ["ok", "warn", "error"] as const;

export function createMetricsRegistry(source: MetricsSource): Registry {
  const registry = new Registry();
  const seconds = (ms: number) => Math.round(ms / 1000);
  new Gauge({
    name: "runnerd_credential_expiry_seconds",
    help: "Seconds until the scope's credential expires: the pushed registration token (push) or the PAT when GitHub announced its expiry (pat); negative once expired",
    labelNames: ["scope", "mode"],
    registers: [registry],
    collect() {
      this.reset();
      const now = source.now();
      for (const c of source.credentials()) if (c.expiresAt !== undefined) this.set({ scope: c.scope, mode: c.mode }, seconds(c.expiresAt - now));
    },
  });
  new Gauge({
    name: "runnerd_credential_last_push_age_seconds",
    help: "Seconds since a registration token was last pushed for the scope (push mode)",
    labelNames: ["scope"],
    registers: [registry],
    collect() {
      this.reset();
      const now = source.now();
      for (const c of source.credentials()) if (c.lastPushAt !== undefined) this.set({ scope: c.scope }, seconds(now - c.lastPushAt));
    },
  });
  new Gauge({
    name: "runnerd_credential_health",
    help: "1 for the scope's current credential health level (ok, warn, error), 0 for the others",
    labelNames: ["scope", "mode", "level"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of source.credentials()) for (const level of healthLevels) this.set({ scope: c.scope, mode: c.mode, level }, c.level === level ? 1 : 0);
    },
  });
  new Gauge({
    name: "runnerd_github_rate_limit_remaining",
    help: "Requests left in GitHub's current rate-limit window, from the last answer's x-ratelimit-remaining",
    labelNames: ["connection", "credential", "resource"],
    registers: [registry],
    collect() {
      this.reset();
      for (const g of source.github()) for (const r of g.rateLimits) this.set({ connection: g.connection, credential: r.credential, resource: r.resource }, r.remaining);
    },
  });
  new Gauge({
    name: "runnerd_github_rate_limit_limit",
    help: "Size of GitHub's rate-limit window (x-ratelimit-limit)",
    labelNames: ["connection", "credential", "resource"],
    registers: [registry],
    collect() {
      this.reset();
      for (const g of source.github()) for (const r of g.rateLimits) this.set({ connection: g.connection, credential: r.credential, resource: r.resource }, r.limit);
    },
  });
  new Gauge({
    name: "runnerd_github_requests",
    help: "GitHub API requests sent since the daemon started (retries included), by route and status; 0 status: no answer",
    labelNames: ["connection", "route", "status"],
    registers: [registry],
    collect() {
      this.reset();
      for (const g of source.github()) for (const r of g.requestCounts ?? []) this.set({ connection: g.connection, route: r.route, status: String(r.status) }, r.count);
    },
  });
  return registry;
}

/**
 * `runnerd_webhook_signatures_total{connection, secret}`: which secret signed each delivery
 * (`current` or `previous`), so a rotation can end once `previous` stops growing.
 */
export function webhookSignatureCounter(registry: Registry): (connection: string, secret: "current" | "previous") => void {
  const counter = new Counter({
    name: "runnerd_webhook_signatures_total",
    help: "Webhook deliveries with a valid signature, by connection and the secret that signed them (current: webhook_secret_file, previous: webhook_secret_previous_file)",
    labelNames: ["connection", "secret"],
    registers: [registry],
  });
  return (connection, secret) => counter.inc({ connection, secret });
}

export function metricsRoutes(registry: Registry): FastifyPluginAsync {
  return async (app) => {
    app.get("/metrics", async (_request, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    });
  };
}
