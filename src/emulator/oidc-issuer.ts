// GitHub Actions' OIDC token issuer, as GHES serves it under `${url}/_services/token`: a
// discovery document, a JWKS with RS256 keys, and test helpers that mint tokens shaped like
// GitHub's. Signing uses node:crypto directly, so runnerd's jose-based verifier is checked
// against an independent implementation.
import { generateKeyPairSync, randomUUID, sign, type JsonWebKey, type KeyObject } from "node:crypto";
import type { Route } from "./routes.js";

/** The claims of a GitHub Actions OIDC token (GitHub sends ids as strings). */
export interface ActionsOidcClaims {
  iss: string;
  aud: string;
  sub: string;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  repository: string;
  repository_id: string;
  repository_owner: string;
  repository_owner_id: string;
  repository_visibility: string;
  actor: string;
  actor_id: string;
  ref: string;
  ref_type: string;
  sha: string;
  workflow: string;
  workflow_ref: string;
  workflow_sha: string;
  job_workflow_ref: string;
  job_workflow_sha: string;
  event_name: string;
  run_id: string;
  run_number: string;
  run_attempt: string;
  runner_environment: string;
  environment?: string;
  [claim: string]: unknown;
}

export interface OidcMintOptions {
  /** Default: `${emu.url}/${repository_owner}`, GitHub's default audience. */
  audience?: string;
  /** `exp - iat`; GitHub's tokens live 300 s. May be negative for an expired token. */
  expiresInSeconds?: number;
  /** `nbf - iat`; GitHub back-dates nbf by 600 s. Positive: not valid yet. */
  notBeforeSeconds?: number;
  /** Default now. */
  issuedAt?: Date;
  /** Sign with this key id: a current or dropped key, or a new key the JWKS never lists. */
  kid?: string;
  /** Overrides `iss` (the signature stays this issuer's). */
  issuer?: string;
}

/** The test API: `emu.oidc`. */
export interface EmulatorOidc {
  /** `${emu.url}/_services/token`. */
  readonly issuer: string;
  /** The key id tokens are signed with now. */
  readonly kid: string;
  /** Discovery document and JWKS fetches so far. */
  readonly fetches: { readonly discovery: number; readonly jwks: number };
  /** The claims mint() would sign for these arguments (for tests that sign tokens themselves). */
  claims(overrides?: Partial<ActionsOidcClaims>, opts?: OidcMintOptions): ActionsOidcClaims;
  /** A compact RS256 JWT with GitHub's header shape (`typ`, `alg`, `kid`). */
  mint(overrides?: Partial<ActionsOidcClaims>, opts?: OidcMintOptions): string;
  /** A new key signs from now on; the old one leaves the JWKS. Returns the new kid. */
  rotateKey(): string;
  /** SPKI PEM of the current signing key (for algorithm-confusion tests). */
  publicKeyPem(): string;
}

export interface OidcIssuer {
  readonly routes: readonly Route[];
  readonly api: EmulatorOidc;
  /** Called once the emulator knows its URL. */
  setBaseUrl(url: string): void;
}

export const OIDC_ISSUER_PATH = "/_services/token";

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

export function createOidcIssuer(): OidcIssuer {
  let baseUrl = "http://127.0.0.1";
  // Generated on first use: most emulator tests never touch OIDC.
  const keys = new Map<string, SigningKey>();
  const published = new Set<string>();
  let current: SigningKey | undefined;
  let serial = 0;
  const fetches = { discovery: 0, jwks: 0 };

  const newKey = (kid = `emu-key-${++serial}-${randomUUID().slice(0, 8)}`): SigningKey => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const key = { kid, privateKey, publicKey };
    keys.set(kid, key);
    return key;
  };
  const signingKey = (): SigningKey => {
    if (current === undefined) {
      current = newKey();
      published.add(current.kid);
    }
    return current;
  };
  const issuer = () => `${baseUrl}${OIDC_ISSUER_PATH}`;
  const claims = (overrides: Partial<ActionsOidcClaims> = {}, opts: OidcMintOptions = {}): ActionsOidcClaims =>
    tokenClaims(baseUrl, issuer(), overrides, opts);

  const api: EmulatorOidc = {
    get issuer() {
      return issuer();
    },
    get kid() {
      return signingKey().kid;
    },
    fetches,
    claims,
    mint(overrides, opts = {}) {
      const key = opts.kid === undefined ? signingKey() : (keys.get(opts.kid) ?? newKey(opts.kid));
      const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: key.kid }));
      const payload = b64url(JSON.stringify(claims(overrides, opts)));
      const signature = sign("sha256", Buffer.from(`${header}.${payload}`), key.privateKey);
      return `${header}.${payload}.${b64url(signature)}`;
    },
    rotateKey() {
      const previous = signingKey();
      published.delete(previous.kid);
      current = newKey();
      published.add(current.kid);
      return current.kid;
    },
    publicKeyPem: () => signingKey().publicKey.export({ type: "spki", format: "pem" }).toString(),
  };

  const jwks = (): JsonWebKey[] => {
    signingKey();
    return [...published].flatMap((kid) => {
      const key = keys.get(kid);
      if (key === undefined) return [];
      const { n, e } = key.publicKey.export({ format: "jwk" });
      return [{ kty: "RSA", alg: "RS256", use: "sig", kid, n, e }];
    });
  };

  return {
    routes: issuerRoutes({ issuer, fetches, jwks }),
    api,
    setBaseUrl(url) {
      baseUrl = url;
    },
  };
}

/** The claims of a token GitHub would mint for a scheduled workflow run, with `overrides` on top. */
function tokenClaims(baseUrl: string, issuer: string, overrides: Partial<ActionsOidcClaims>, opts: OidcMintOptions): ActionsOidcClaims {
  const repository = overrides.repository ?? "octo-org/octo-repo";
  const owner = overrides.repository_owner ?? repository.split("/")[0] ?? "octo-org";
  const ref = overrides.ref ?? "refs/heads/main";
  const workflowRef = `${repository}/.github/workflows/runner-token.yml@${ref}`;
  const iat = Math.floor((opts.issuedAt?.getTime() ?? Date.now()) / 1000);
  return {
    jti: randomUUID(),
    sub: `repo:${repository}:ref:${ref}`,
    aud: opts.audience ?? `${baseUrl}/${owner}`,
    ref,
    sha: "5e1d3b8c0a9f4e7d6c2b1a0f9e8d7c6b5a4f3e2d",
    repository,
    repository_owner: owner,
    repository_owner_id: "65",
    repository_id: "74",
    repository_visibility: "private",
    actor_id: "12",
    actor: "octocat",
    run_id: "4242",
    run_number: "10",
    run_attempt: "1",
    runner_environment: "github-hosted",
    workflow: "Runner token",
    workflow_ref: workflowRef,
    workflow_sha: "5e1d3b8c0a9f4e7d6c2b1a0f9e8d7c6b5a4f3e2d",
    job_workflow_ref: workflowRef,
    job_workflow_sha: "5e1d3b8c0a9f4e7d6c2b1a0f9e8d7c6b5a4f3e2d",
    event_name: "schedule",
    ref_type: "branch",
    iss: opts.issuer ?? issuer,
    nbf: iat + (opts.notBeforeSeconds ?? -600),
    exp: iat + (opts.expiresInSeconds ?? 300),
    iat,
    ...overrides,
  };
}

/** The discovery document and the JWKS, counting fetches. */
function issuerRoutes(d: { issuer(): string; fetches: { discovery: number; jwks: number }; jwks(): JsonWebKey[] }): Route[] {
  return [
    {
      method: "GET",
      pattern: /^\/_services\/token\/\.well-known\/openid-configuration$/,
      auth: "none",
      body: "text",
      handle: () => {
        d.fetches.discovery += 1;
        return {
          status: 200,
          body: {
            issuer: d.issuer(),
            jwks_uri: `${d.issuer()}/.well-known/jwks`,
            subject_types_supported: ["public", "pairwise"],
            response_types_supported: ["id_token"],
            claims_supported: ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_id", "repository_owner", "repository_owner_id", "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow", "workflow_ref", "workflow_sha", "event_name", "ref_type", "environment", "job_workflow_ref", "job_workflow_sha", "repository_visibility", "runner_environment"],
            id_token_signing_alg_values_supported: ["RS256"],
            scopes_supported: ["openid"],
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/_services\/token\/\.well-known\/jwks$/,
      auth: "none",
      body: "text",
      handle: () => {
        d.fetches.jwks += 1;
        return { status: 200, body: { keys: d.jwks() } };
      },
    },
  ];
}
