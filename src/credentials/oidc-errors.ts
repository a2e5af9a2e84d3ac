// Why a GitHub Actions OIDC token was refused, as a machine-readable kind for logs and metrics.
// The HTTP answer never says which check failed: that would teach a forger what to fix next.

export const OIDC_FAILURE_KINDS = [
  "missing-token",
  "malformed",
  "algorithm",
  "bad-signature",
  "unknown-key",
  "expired",
  "not-yet-valid",
  "too-old",
  "issuer",
  "audience",
  "missing-claim",
  "invalid-claim",
  "replayed",
  "issuer-unreachable",
  "issuer-invalid",
] as const;

export type OidcFailureKind = (typeof OIDC_FAILURE_KINDS)[number];

/** Failures on the issuer's side (its discovery document or keys), not the caller's. */
export function isIssuerFailure(kind: OidcFailureKind): boolean {
  return kind === "issuer-unreachable" || kind === "issuer-invalid";
}

export class OidcVerificationError extends Error {
  override readonly name = "OidcVerificationError";
  constructor(
    readonly kind: OidcFailureKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
