// URLs derived from a connection's web URL when the file leaves them out.

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function isDotcom(webUrl: string): boolean {
  const { hostname } = new URL(webUrl);
  return hostname === "github.com" || hostname === "www.github.com";
}

/** github.com's API lives on its own host; GitHub Enterprise Server serves it under /api/v3. */
export function defaultApiUrl(webUrl: string): string {
  return isDotcom(webUrl) ? "https://api.github.com" : `${trimSlash(webUrl)}/api/v3`;
}

/** The `iss` of GitHub Actions OIDC tokens: one issuer for github.com, `/_services/token` on GHES. */
export function defaultOidcIssuer(webUrl: string): string {
  return isDotcom(webUrl) ? "https://token.actions.githubusercontent.com" : `${trimSlash(webUrl)}/_services/token`;
}
