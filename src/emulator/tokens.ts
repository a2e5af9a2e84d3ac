// Registration/remove tokens (REST) and the short-lived admin tokens the runner exchanges them for.
import { scopeKey } from "./scope.js";
import { randomToken } from "./state.js";
import type { AdminToken, EmulatorState, IssuedToken } from "./state.js";
import type { Scope, TokenGrant } from "./types.js";

const HOUR_S = 3600;

export function mintToken(
  state: EmulatorState,
  scope: Scope,
  kind: IssuedToken["kind"],
  expiresInSeconds = HOUR_S,
): TokenGrant {
  // GitHub's tokens are 29 upper-case base32-ish characters; the shape only needs to be opaque.
  const token = randomToken(kind === "registration" ? "AREG" : "AREM", 13);
  const expiresAt = state.now() + expiresInSeconds * 1000;
  state.tokens.set(token, { token, scope, kind, expiresAt });
  return { token, expires_at: new Date(expiresAt).toISOString() };
}

export function expireAllTokens(state: EmulatorState): void {
  const past = state.now() - 1000;
  for (const token of state.tokens.values()) token.expiresAt = past;
}

export type TokenCheck = { ok: true; token: IssuedToken } | { ok: false; status: 401 | 403; message: string };

/** Checks a RemoteAuth token against the scope named by the runner's `--url`. */
export function checkIssuedToken(state: EmulatorState, value: string, scope: Scope): TokenCheck {
  const token = state.tokens.get(value);
  if (token === undefined) return { ok: false, status: 401, message: "Bad credentials: unknown registration token" };
  if (token.expiresAt <= state.now()) return { ok: false, status: 401, message: "Bad credentials: registration token expired" };
  if (scopeKey(token.scope) !== scopeKey(scope)) {
    return { ok: false, status: 403, message: "Registration token was issued for another repository or organization" };
  }
  return { ok: true, token };
}

export function mintAdminToken(state: EmulatorState, scope: Scope, runnerEvent: AdminToken["runnerEvent"]): AdminToken {
  const admin: AdminToken = { token: randomToken("ghra_", 20), scope, runnerEvent, expiresAt: state.now() + HOUR_S * 1000 };
  state.adminTokens.set(admin.token, admin);
  return admin;
}

export function findAdminToken(state: EmulatorState, value: string | null): AdminToken | null {
  if (value === null) return null;
  const admin = state.adminTokens.get(value);
  return admin !== undefined && admin.expiresAt > state.now() ? admin : null;
}
