// The issuer's OpenID discovery document, fetched once and cached: it names the key set URL.
// Only the configured issuer is ever fetched; nothing in a token chooses what we fetch.
import { describeError } from "../errors.js";
import { OidcVerificationError } from "./oidc-errors.js";

export interface OidcDiscoveryOptions {
  /** Exact issuer, no trailing slash. */
  issuer: string;
  fetchTimeoutMs: number;
  /** How long a fetched document is used before it is fetched again. */
  ttlMs: number;
  /** After a failed fetch, no new attempt for this long (a stale document is still used). */
  failureBackoffMs: number;
  fetch?: typeof fetch;
}

export interface OidcDiscovery {
  /** The key set URL, from the cache when fresh. */
  jwksUri(): Promise<URL>;
}

export function createOidcDiscovery(options: OidcDiscoveryOptions): OidcDiscovery {
  let cached: { uri: URL; at: number } | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<URL> | undefined;

  const refresh = (): Promise<URL> => {
    pending ??= fetchJwksUri(options)
      .then(
        (uri) => {
          cached = { uri, at: Date.now() };
          return uri;
        },
        (err: unknown) => {
          failedAt = Date.now();
          throw err;
        },
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  return {
    async jwksUri() {
      const now = Date.now();
      if (cached && now - cached.at < options.ttlMs) return cached.uri;
      if (now - failedAt < options.failureBackoffMs) {
        if (cached) return cached.uri;
        throw new OidcVerificationError("issuer-unreachable", `discovery of ${options.issuer} failed less than ${options.failureBackoffMs} ms ago`);
      }
      try {
        return await refresh();
      } catch (err) {
        // A blip at the issuer should not stop pushes while a document we trusted is at hand.
        if (cached) return cached.uri;
        throw err;
      }
    },
  };
}

async function fetchJwksUri(options: OidcDiscoveryOptions): Promise<URL> {
  const url = `${options.issuer}/.well-known/openid-configuration`;
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, { redirect: "manual", signal: AbortSignal.timeout(options.fetchTimeoutMs), headers: { accept: "application/json" } });
  } catch (err) {
    throw new OidcVerificationError("issuer-unreachable", `cannot fetch ${url}: ${describeError(err)}`, { cause: err });
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new OidcVerificationError("issuer-unreachable", `${url} answered HTTP ${response.status}`);
  }
  let doc: unknown;
  try {
    doc = await response.json();
  } catch (err) {
    throw new OidcVerificationError("issuer-invalid", `${url} is not JSON`, { cause: err });
  }
  const { issuer, jwks_uri: jwksUri } = (typeof doc === "object" && doc !== null ? doc : {}) as { issuer?: unknown; jwks_uri?: unknown };
  if (issuer !== options.issuer) {
    throw new OidcVerificationError("issuer-invalid", `${url} names issuer ${JSON.stringify(issuer)}, not the configured ${options.issuer}`);
  }
  let uri: URL;
  try {
    uri = new URL(String(jwksUri));
  } catch {
    throw new OidcVerificationError("issuer-invalid", `${url} has no valid jwks_uri`);
  }
  // Keys fetched over plain HTTP could be swapped in transit; only a plain-HTTP issuer (a local
  // test issuer) may have them so.
  const issuerProtocol = new URL(options.issuer).protocol;
  if (uri.protocol !== "https:" && !(uri.protocol === "http:" && issuerProtocol === "http:")) {
    throw new OidcVerificationError("issuer-invalid", `${url}: jwks_uri ${uri.href} is not https`);
  }
  return uri;
}
