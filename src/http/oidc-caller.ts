// Who is calling: the OIDC token from `Authorization: Bearer`, verified against the configured
// issuer it names. A failure keeps the token's unverified claims, for the log line only.
import { decodeJwt } from "jose";
import type { Config } from "../config/index.js";
import type { GitHubOidcClaims } from "../credentials/oidc-claims.js";
import { OidcVerificationError, type OidcFailureKind } from "../credentials/oidc-errors.js";
import { trustForToken, type OidcTrust } from "../credentials/oidc-push-config.js";
import type { OidcVerifierSource } from "../credentials/oidc-verifier-cache.js";

export type CallerResult =
  | { readonly ok: true; readonly claims: GitHubOidcClaims; readonly trust: OidcTrust }
  | { readonly ok: false; readonly kind: OidcFailureKind; readonly detail: string; readonly unverified: unknown };

/** The credentials of a `Bearer` authorization header (scheme case-insensitive), else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  return match?.[1];
}

/** The claims of the bearer token, unverified: for logs and cheap early refusals only. */
export function peekClaims(authorization: string | undefined): Record<string, unknown> | undefined {
  const jwt = bearerToken(authorization);
  return jwt === undefined ? undefined : unverifiedClaims(jwt);
}

/** Decoded claims of a token, or undefined when it does not even decode. */
function unverifiedClaims(jwt: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(jwt);
  } catch {
    return undefined;
  }
}

export async function authenticateCaller(authorization: string | undefined, config: Config, verifiers: OidcVerifierSource): Promise<CallerResult> {
  const jwt = bearerToken(authorization);
  if (jwt === undefined) return { ok: false, kind: "missing-token", detail: "no Authorization: Bearer header", unverified: undefined };
  const unverified = unverifiedClaims(jwt);
  if (unverified === undefined) return { ok: false, kind: "malformed", detail: "not a decodable JWT", unverified };
  const picked = trustForToken(config, unverified.iss, unverified.aud);
  if ("mismatch" in picked) {
    const detail = picked.mismatch === "issuer" ? "iss is no configured OIDC issuer" : "aud is not the configured audience for this issuer";
    return { ok: false, kind: picked.mismatch, detail, unverified };
  }
  try {
    const claims = await verifiers.get(picked.trust.issuer, picked.trust.audience).verify(jwt);
    return { ok: true, claims, trust: picked.trust };
  } catch (err) {
    if (err instanceof OidcVerificationError) return { ok: false, kind: err.kind, detail: err.message, unverified };
    throw err;
  }
}
