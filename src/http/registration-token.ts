// POST /api/v1/registration-token: a scheduled workflow pushes the registration token it minted,
// authenticated by its GitHub Actions OIDC token instead of an SSH key. Authentication runs
// before the body is read; refusals say as little as possible and log everything else.
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { parseScopeKey, scopeKey } from "../config/scope.js";
import type { Config } from "../config/index.js";
import { claimsForLog, type GitHubOidcClaims } from "../credentials/oidc-claims.js";
import { isIssuerFailure } from "../credentials/oidc-errors.js";
import { oidcConnectionsServing, type OidcTrust } from "../credentials/oidc-push-config.js";
import type { OidcVerifierSource } from "../credentials/oidc-verifier-cache.js";
import { mayPush } from "../credentials/push-rules.js";
import { clampNote, maxTokenInputBytes, parseTokenResponse, type PushedToken } from "../credentials/token-input.js";
import { ConfigError, describeError } from "../errors.js";
import type { Store } from "../store/index.js";
import { addressKey } from "./client-address.js";
import { authenticateCaller, peekClaims, type CallerResult } from "./oidc-caller.js";
import { SlidingWindowLimiter, type RateLimitRule } from "./rate-limit.js";

export const REGISTRATION_TOKEN_PATH = "/api/v1/registration-token";

export interface RegistrationTokenLimits {
  /** Authenticated requests per caller (its `repository`), whatever their outcome. */
  perRepository: RateLimitRule;
  /** Failed authentications per client address (IPv6: per /64); past it a failure is 429, a valid token still passes. */
  failedAuthPerAddress: RateLimitRule;
}

export const DEFAULT_REGISTRATION_TOKEN_LIMITS: RegistrationTokenLimits = {
  perRepository: { limit: 12, windowMs: 10 * 60_000 },
  failedAuthPerAddress: { limit: 30, windowMs: 60_000 },
};

export interface RegistrationTokenDeps {
  /** The current configuration; read on every request, so a reload applies at once. */
  config(): Config;
  store: Pick<Store, "setToken" | "addEvent">;
  logger: Logger;
  now(): Date;
  /** Verifiers by (issuer, audience); share one across reloads (see createOidcVerifierCache). */
  verifiers: OidcVerifierSource;
  /** After a token is stored: the daemon asks the reconciler for a pass. Errors are logged. */
  onTokenStored(scope: string): void;
  limits?: Partial<RegistrationTokenLimits>;
}

const messages = {
  unauthenticated: "invalid or expired OIDC token",
  unavailable: "OIDC tokens cannot be verified right now; retry later",
  tooMany: "too many requests; retry later",
  // Not the scope: no answer repeats the request body.
  denied: "this workflow may not push tokens for the scope it named",
};

interface Caller {
  claims: GitHubOidcClaims;
  trust: OidcTrust;
}

/** Why a request was refused, for the log line; never the token. */
interface Refusal {
  reason: string;
  detail?: string;
  claims?: unknown;
  verified: boolean;
  scope?: string;
}

interface ScopedToken extends PushedToken {
  scope: string;
}

export function registrationTokenRoutes(deps: RegistrationTokenDeps): FastifyPluginAsync {
  return new TokenPushRoutes(deps).plugin();
}

/** The route's state (rate limiters, authenticated callers) and its steps, one method each. */
class TokenPushRoutes {
  private readonly perRepository: SlidingWindowLimiter;
  private readonly failuresPerAddress: SlidingWindowLimiter;
  private readonly callers = new WeakMap<FastifyRequest, Caller>();
  private readonly log: Logger;

  constructor(private readonly deps: RegistrationTokenDeps) {
    const limits = { ...DEFAULT_REGISTRATION_TOKEN_LIMITS, ...deps.limits };
    const nowMs = () => deps.now().getTime();
    this.perRepository = new SlidingWindowLimiter(limits.perRepository, nowMs);
    this.failuresPerAddress = new SlidingWindowLimiter(limits.failedAuthPerAddress, nowMs);
    this.log = deps.logger.child({ component: "token-push" });
  }

  plugin(): FastifyPluginAsync {
    return async (app) => {
      // JSON only: fastify would also take text/plain by default.
      app.removeContentTypeParser("text/plain");
      // Body errors (too large, bad JSON, wrong media type) come from fastify after authentication.
      app.setErrorHandler(this.onError);
      app.post(REGISTRATION_TOKEN_PATH, { bodyLimit: maxTokenInputBytes, onRequest: this.authenticate }, this.handle);
    };
  }

  /** Logs a refusal with who asked (never the token) and answers. */
  private refuse(request: FastifyRequest, reply: FastifyReply, status: number, message: string, why: Refusal) {
    this.log.warn(
      { reason: why.reason, detail: why.detail, status, address: request.ip, scope: why.scope, claims: claimsForLog(why.claims), claims_verified: why.verified },
      `token push refused: ${why.reason}`,
    );
    return reply.code(status).send({ message });
  }

  private retryAfter(reply: FastifyReply, ms: number) {
    return reply.header("retry-after", String(Math.max(1, Math.ceil(ms / 1000))));
  }

  // Arrow functions: fastify calls hooks and handlers with itself as `this`.
  private readonly authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const limited = this.refuseIfRepositoryLimited(request, reply);
    if (limited !== undefined) return limited;
    // Verified before the address is looked at: a valid token is never refused for what others
    // sent from the same address (a shared proxy or NAT, or a forger who found the renewal
    // workflow's address). Only failures count against an address.
    const result = await authenticateCaller(request.headers.authorization, this.deps.config(), this.deps.verifiers);
    if (!result.ok) return this.refuseUnauthenticated(request, reply, result);
    this.perRepository.hit(result.claims.repository.toLowerCase());
    this.callers.set(request, { claims: result.claims, trust: result.trust });
    return undefined;
  };

  /**
   * 429 for a repository over its limit. Checked before verification, so that the token is not
   * spent (each is accepted once) and the workflow may retry with it after Retry-After. The name
   * is unverified here, but only verified requests count (above): naming another repository can
   * only get the sender refused.
   */
  private refuseIfRepositoryLimited(request: FastifyRequest, reply: FastifyReply) {
    const peeked = peekClaims(request.headers.authorization);
    if (typeof peeked?.repository !== "string") return undefined;
    const waitMs = this.perRepository.retryAfterMs(peeked.repository.toLowerCase());
    if (waitMs === 0) return undefined;
    this.retryAfter(reply, waitMs);
    return this.refuse(request, reply, 429, messages.tooMany, { reason: "repository-rate-limited", claims: peeked, verified: false });
  }

  /** 401, or 429 once the client address (an IPv6 /64) failed too often; 503 when the issuer is out of reach. */
  private refuseUnauthenticated(request: FastifyRequest, reply: FastifyReply, result: Extract<CallerResult, { ok: false }>) {
    if (isIssuerFailure(result.kind)) {
      // Our side (or GitHub's) failed, not the caller: no failure counted, a retry may work.
      this.retryAfter(reply, 30_000);
      return this.refuse(request, reply, 503, messages.unavailable, { reason: result.kind, detail: result.detail, claims: result.unverified, verified: false });
    }
    const address = addressKey(request.ip);
    const blockedMs = this.failuresPerAddress.retryAfterMs(address);
    // Counted while blocked too: a client that keeps failing stays blocked.
    this.failuresPerAddress.hit(address);
    if (blockedMs > 0) {
      this.retryAfter(reply, blockedMs);
      return this.refuse(request, reply, 429, messages.tooMany, { reason: "address-rate-limited", detail: result.kind, claims: result.unverified, verified: false });
    }
    reply.header("www-authenticate", 'Bearer realm="runnerd"');
    return this.refuse(request, reply, 401, messages.unauthenticated, { reason: result.kind, detail: result.detail, claims: result.unverified, verified: false });
  }

  private readonly handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const caller = this.callers.get(request);
    if (caller === undefined) throw new Error("token push: handler reached without an authenticated caller");
    const { claims } = caller;
    const body = request.body;
    if (body === undefined) {
      return this.refuse(request, reply, 415, "send JSON with Content-Type: application/json", { reason: "bad-media-type", claims, verified: true });
    }
    const pushed = this.parseBody(body);
    if ("bad" in pushed) return this.refuse(request, reply, 400, pushed.bad, { reason: "bad-body", detail: pushed.bad, claims, verified: true });
    const { scope } = pushed;
    const denied = this.denial(scope, caller);
    if (denied !== undefined) return this.refuse(request, reply, 403, messages.denied, { ...denied, claims, verified: true, scope });
    this.store(request, claims, pushed);
    return reply.code(201).send({ scope, expires_at: pushed.expiresAt.toISOString() });
  };

  /**
   * The scope and token a JSON body names, or why it is a bad body (the 400's message). No
   * message quotes the body: the workflow prints the answer in its log, which may be public.
   */
  private parseBody(body: unknown): ScopedToken | { bad: string } {
    if (typeof body !== "object" || body === null || Array.isArray(body)) return { bad: 'body must be a JSON object {"token", "expires_at", "scope"}' };
    const rawScope = (body as { scope?: unknown }).scope;
    if (rawScope === undefined || rawScope === null) return { bad: "field scope is missing: repo:owner/name or org:name" };
    if (typeof rawScope !== "string") return { bad: "field scope is not repo:owner/name or org:name" };
    let scope: string;
    try {
      scope = scopeKey(parseScopeKey(rawScope));
    } catch (err) {
      // parseScopeKey's message quotes what it was given.
      if (err instanceof ConfigError) return { bad: "field scope is not repo:owner/name or org:name" };
      throw err;
    }
    try {
      return { scope, ...parseTokenResponse(body, this.deps.now(), { prefix: "", where: "the request body" }) };
    } catch (err) {
      if (err instanceof ConfigError) return { bad: err.message };
      throw err;
    }
  }

  /** Why this caller may not push for scope (reason and detail for the log), or undefined if it may. */
  private denial(scope: string, { claims, trust }: Caller): { reason: string; detail: string } | undefined {
    const config = this.deps.config();
    const connections = oidcConnectionsServing(config, scope, trust);
    // Same answer as a rule refusal: which scopes get runners here is not for any workflow to learn.
    if (connections.length === 0) {
      return { reason: "scope-not-served", detail: `no pool of a push connection trusting ${trust.issuer} (audience ${trust.audience}) uses ${scope}` };
    }
    if (!connections.some((c) => mayPush(c.auth.oidc.allow, claims, scope))) {
      return { reason: "rule-denied", detail: `no oidc.allow rule of ${connections.map((c) => c.name).join(", ")} matches` };
    }
    return undefined;
  }

  /** Stores the token, records and logs it, and asks for a reconcile pass. */
  private store(request: FastifyRequest, claims: GitHubOidcClaims, pushed: ScopedToken) {
    const { scope, token, expiresAt } = pushed;
    const source = pushSource(claims);
    this.deps.store.setToken(scope, token, expiresAt, source);
    const note = clampNote(pushed);
    this.deps.store.addEvent({ level: "info", kind: "token-set", message: `registration token for ${scope} stored (expires ${expiresAt.toISOString()}, from ${source})${note ? `; ${note}` : ""}` });
    const sent = pushed.clampedFrom?.toISOString();
    this.log.info({ scope, expires_at: expiresAt.toISOString(), expires_at_sent: sent, source, address: request.ip, claims: claimsForLog(claims) }, "registration token pushed over HTTPS");
    if (note) this.log.warn({ scope, expires_at_sent: sent, source }, `token push: ${note}; is the pushing runner's clock right?`);
    try {
      this.deps.onTokenStored(scope);
    } catch (err) {
      this.log.error({ scope, err: describeError(err) }, "after a token push: onTokenStored failed");
    }
  }

  private readonly onError = (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const caller = this.callers.get(request);
    if (status === 500) {
      this.log.error({ err: describeError(err), claims: claimsForLog(caller?.claims) }, "token push failed");
      return reply.code(500).send({ message: "internal error" });
    }
    // Fixed messages: a JSON syntax error quotes the body, which holds the registration token.
    const [reason, message] =
      status === 413 ? ["body-too-large", `body larger than ${maxTokenInputBytes} bytes`]
      : status === 415 ? ["bad-media-type", "send JSON with Content-Type: application/json"]
      : ["bad-body", "body is not valid JSON"];
    return this.refuse(request, reply, status, message, { reason, detail: err.code ?? err.name, claims: caller?.claims, verified: caller !== undefined });
  };
}

/** How the store records an HTTPS push: repository, ref and workflow, e.g. `oidc:o/r@refs/heads/main (o/r/.github/workflows/t.yml@refs/heads/main)`. */
export function pushSource(claims: GitHubOidcClaims): string {
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : "?");
  return `oidc:${claims.repository}@${text(claims.ref)} (${text(claims.workflow_ref)})`;
}
