// Verifies a GitHub Actions OIDC token: RS256 signature by a key of the configured issuer's key
// set, exact issuer and audience, time claims with a small tolerance, a bounded age, the claims
// GitHub always sends, and a token id not seen before. Every failure is an OidcVerificationError.
import { createRemoteJWKSet, customFetch, errors, jwtVerify } from "jose";
import type { JWTVerifyGetKey } from "jose";
import { describeError } from "../errors.js";
import { REQUIRED_CLAIMS, checkGitHubClaims, type GitHubOidcClaims } from "./oidc-claims.js";
import { createOidcDiscovery, type OidcDiscovery } from "./oidc-discovery.js";
import { OidcVerificationError } from "./oidc-errors.js";
import { ReplayCache } from "./replay-cache.js";

export interface OidcVerifierOptions {
  /** Exact `iss`, no trailing slash. */
  issuer: string;
  /** Exact `aud`. */
  audience: string;
  /** Clock for the time claims and the replay cache (key set caching uses the real clock). */
  now?: () => Date;
  /** Seconds of clock skew allowed on exp, nbf and iat; 30 by default. */
  clockToleranceSec?: number;
  /** A token issued longer ago than this is refused even before its exp; 15 minutes by default. */
  maxTokenAgeSec?: number;
  /** An unknown key id refetches the key set at most this often; 30 s by default. */
  jwksCooldownMs?: number;
  /** The key set is refetched after this long; 10 minutes by default. */
  jwksCacheMaxAgeMs?: number;
  /** Discovery document cache; 1 hour by default. */
  discoveryTtlMs?: number;
  /** After a failed fetch from the issuer, no new fetch for this long; 10 s by default. */
  failureBackoffMs?: number;
  fetchTimeoutMs?: number;
  /** Shared between verifiers so an id is accepted once per process; ids are keyed by issuer. */
  replay?: ReplayCache;
  fetch?: typeof fetch;
}

export interface OidcVerifier {
  readonly issuer: string;
  readonly audience: string;
  /** The token's claims, or an OidcVerificationError saying why not. */
  verify(jwt: string): Promise<GitHubOidcClaims>;
}

/** GitHub signs with RS256 only; allowing anything else invites algorithm confusion (HS256 with the public key, `none`). */
const algorithms = ["RS256"];

export function createOidcVerifier(options: OidcVerifierOptions): OidcVerifier {
  const now = options.now ?? (() => new Date());
  const toleranceSec = options.clockToleranceSec ?? 30;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 5000;
  const failureBackoffMs = options.failureBackoffMs ?? 10_000;
  const replay = options.replay ?? new ReplayCache();
  const discovery = createOidcDiscovery({
    issuer: options.issuer,
    fetchTimeoutMs,
    ttlMs: options.discoveryTtlMs ?? 3_600_000,
    failureBackoffMs,
    fetch: options.fetch,
  });
  const keys = issuerKeys(discovery, options, fetchTimeoutMs, failureBackoffMs);

  return {
    issuer: options.issuer,
    audience: options.audience,
    async verify(jwt) {
      if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(jwt) || jwt.length > 16 * 1024) {
        throw new OidcVerificationError("malformed", "not a compact JWT");
      }
      const at = now();
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(jwt, keys, {
          algorithms,
          issuer: options.issuer,
          audience: options.audience,
          clockTolerance: toleranceSec,
          maxTokenAge: options.maxTokenAgeSec ?? 900,
          requiredClaims: [...REQUIRED_CLAIMS],
          currentDate: at,
        }));
      } catch (err) {
        throw classify(err);
      }
      const claims = checkGitHubClaims(payload, options.audience);
      // Kept until the token could no longer pass the exp check, tolerance included.
      const keepUntil = (claims.exp + toleranceSec) * 1000;
      if (!replay.remember(`${options.issuer} ${claims.jti}`, keepUntil, at.getTime())) {
        throw new OidcVerificationError("replayed", `token id ${claims.jti} was used before`);
      }
      return claims;
    },
  };
}

/**
 * The issuer's key set, found through discovery. jose refetches it on an unknown key id, at most
 * once per cooldown; our fetch wrapper also stops retrying a failing issuer for a while, so that
 * neither forged key ids nor an outage make us hammer it.
 */
function issuerKeys(discovery: OidcDiscovery, options: OidcVerifierOptions, fetchTimeoutMs: number, failureBackoffMs: number): JWTVerifyGetKey {
  let current: { href: string; getKey: JWTVerifyGetKey } | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  const baseFetch = options.fetch ?? fetch;
  const guardedFetch = async (url: string, init: RequestInit): Promise<Response> => {
    if (Date.now() - failedAt < failureBackoffMs) {
      throw new OidcVerificationError("issuer-unreachable", `key set fetch failed less than ${failureBackoffMs} ms ago`);
    }
    try {
      const response = await baseFetch(url, init);
      if (response.status !== 200) failedAt = Date.now();
      return response;
    } catch (err) {
      failedAt = Date.now();
      throw err;
    }
  };
  return async (header, token) => {
    const uri = await discovery.jwksUri();
    if (current?.href !== uri.href) {
      current = {
        href: uri.href,
        getKey: createRemoteJWKSet(uri, {
          timeoutDuration: fetchTimeoutMs,
          cooldownDuration: options.jwksCooldownMs ?? 30_000,
          cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
          [customFetch]: guardedFetch,
        }),
      };
    }
    return current.getKey(header, token);
  };
}

/** jose's error (or a fetch failure while resolving the key) as a failure kind. */
function classify(err: unknown): OidcVerificationError {
  if (err instanceof OidcVerificationError) return err;
  const message = describeError(err);
  if (err instanceof errors.JOSEAlgNotAllowed) return new OidcVerificationError("algorithm", message, { cause: err });
  if (err instanceof errors.JWSSignatureVerificationFailed) return new OidcVerificationError("bad-signature", message, { cause: err });
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new OidcVerificationError("unknown-key", message, { cause: err });
  }
  if (err instanceof errors.JWTExpired) return new OidcVerificationError(err.claim === "iat" ? "too-old" : "expired", message, { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === "missing") return new OidcVerificationError("missing-claim", message, { cause: err });
    if (err.claim === "iss") return new OidcVerificationError("issuer", message, { cause: err });
    if (err.claim === "aud") return new OidcVerificationError("audience", message, { cause: err });
    if (err.claim === "nbf" || err.claim === "iat") return new OidcVerificationError("not-yet-valid", message, { cause: err });
    return new OidcVerificationError("invalid-claim", message, { cause: err });
  }
  if (err instanceof errors.JWKSTimeout) return new OidcVerificationError("issuer-unreachable", message, { cause: err });
  if (err instanceof errors.JWKSInvalid) return new OidcVerificationError("issuer-invalid", message, { cause: err });
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported || err instanceof errors.JWKInvalid) {
    return new OidcVerificationError("malformed", message, { cause: err });
  }
  // Left: jose's generic error for a non-200 key set answer, and fetch's own network errors.
  if (err instanceof errors.JOSEError || (err instanceof TypeError && /fetch/i.test(message))) {
    return new OidcVerificationError("issuer-unreachable", message, { cause: err });
  }
  return new OidcVerificationError("malformed", message, { cause: err });
}
