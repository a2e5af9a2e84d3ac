// Public face of runnerd's HTTP server: the server, and the route modules the daemon mounts.
export { buildHttpApp, parseListen, startHttpServer } from "./server.js";
export type { HttpServer, HttpServerOptions } from "./server.js";
export { DEFAULT_REGISTRATION_TOKEN_LIMITS, REGISTRATION_TOKEN_PATH, pushSource, registrationTokenRoutes } from "./registration-token.js";
export type { RegistrationTokenDeps, RegistrationTokenLimits } from "./registration-token.js";
export type { RateLimitRule } from "./rate-limit.js";
export { MAX_WEBHOOK_BYTES, WEBHOOK_PATH, webhookRoutes } from "./webhooks.js";
export type { WebhookDeps, WebhookOutcome } from "./webhooks.js";
export { STATUS_EVENTS_PATH, STATUS_PATH, statusPageRoutes } from "./status-page.js";
export type { StatusPageData, StatusPageDeps, StatusPagePool, StatusPageRunner } from "./status-page.js";
export { createOidcVerifierCache } from "../credentials/oidc-verifier-cache.js";
export type { OidcVerifierDefaults, OidcVerifierSource } from "../credentials/oidc-verifier-cache.js";
