// The claims of a GitHub Actions OIDC token runnerd relies on, their checks beyond what jose
// does, and the subset that goes into logs.
import { OidcVerificationError } from "./oidc-errors.js";

/** A verified token's claims. GitHub sends every value as a string, ids included, except the times. */
export interface GitHubOidcClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
  /** `owner/name` in the repository's own case. */
  readonly repository: string;
  readonly repository_owner: string;
  readonly [claim: string]: unknown;
}

/** Claims every GitHub Actions token carries; a token without one is not what it claims to be. */
export const REQUIRED_CLAIMS = ["iss", "aud", "sub", "jti", "iat", "exp", "repository", "repository_owner"] as const;

const stringClaims = ["sub", "jti", "repository", "repository_owner"] as const;
/** Mirrors config/scope.ts REPO_PATTERN: a repository claim that is not a name is not GitHub's. */
const repositoryPattern = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;

/** Checks what jose does not: string types, one exact audience, a plausible repository. */
export function checkGitHubClaims(payload: Readonly<Record<string, unknown>>, audience: string): GitHubOidcClaims {
  for (const claim of stringClaims) {
    const value = payload[claim];
    if (typeof value !== "string" || value === "") throw new OidcVerificationError("invalid-claim", `claim ${claim} is not a non-empty string`);
  }
  // jose accepts an `aud` list containing ours; GitHub issues exactly one audience, so must the token.
  const aud = payload.aud;
  const single = Array.isArray(aud) && aud.length === 1 ? (aud[0] as unknown) : aud;
  if (single !== audience) throw new OidcVerificationError("audience", "aud is not exactly the configured audience");
  const repository = payload.repository as string;
  if (!repositoryPattern.test(repository)) throw new OidcVerificationError("invalid-claim", "claim repository is not owner/name");
  if (repository.split("/")[0]?.toLowerCase() !== (payload.repository_owner as string).toLowerCase()) {
    throw new OidcVerificationError("invalid-claim", "claim repository_owner does not match repository");
  }
  return { ...payload, aud: audience } as GitHubOidcClaims;
}

/** What a refusal or success log line shows of a caller: who, from which workflow and ref. */
const loggedClaims = [
  "iss", "aud", "sub", "repository", "repository_id", "repository_owner", "repository_owner_id", "ref", "ref_type",
  "workflow_ref", "job_workflow_ref", "event_name", "environment", "actor", "run_id", "run_attempt", "runner_environment",
  "jti", "iat", "nbf", "exp",
] as const;
/** Unverified values come from anyone: keep a log line bounded. */
const maxLoggedLength = 200;

export function claimsForLog(payload: unknown): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (typeof payload !== "object" || payload === null) return out;
  for (const claim of loggedClaims) {
    const value = (payload as Record<string, unknown>)[claim];
    if (typeof value === "number" && Number.isFinite(value)) out[claim] = value;
    else if (typeof value === "string") out[claim] = value.length > maxLoggedLength ? `${value.slice(0, maxLoggedLength)}...` : value;
    else if (Array.isArray(value) && claim === "aud") out[claim] = value.filter((v) => typeof v === "string").join(",").slice(0, maxLoggedLength);
  }
  return out;
}
