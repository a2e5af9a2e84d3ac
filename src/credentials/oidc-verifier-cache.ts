// One verifier per (issuer, audience), kept across config reloads so key sets, discovery
// documents and seen token ids survive them; one replay cache for all.
import { createOidcVerifier, type OidcVerifier, type OidcVerifierOptions } from "./oidc-verifier.js";
import { ReplayCache } from "./replay-cache.js";

export interface OidcVerifierSource {
  get(issuer: string, audience: string): OidcVerifier;
}

export type OidcVerifierDefaults = Omit<OidcVerifierOptions, "issuer" | "audience" | "replay">;

export function createOidcVerifierCache(defaults: OidcVerifierDefaults = {}): OidcVerifierSource {
  const replay = new ReplayCache();
  const verifiers = new Map<string, OidcVerifier>();
  return {
    get(issuer, audience) {
      const key = JSON.stringify([issuer, audience]);
      let verifier = verifiers.get(key);
      if (verifier === undefined) {
        verifier = createOidcVerifier({ ...defaults, issuer, audience, replay });
        verifiers.set(key, verifier);
      }
      return verifier;
    },
  };
}
