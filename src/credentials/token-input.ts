// Parses what `runnerd token set` reads on stdin: GitHub's registration-token response
// (`{"token": ..., "expires_at": ...}`) or a bare token, which GitHub makes valid for one hour.
import { ConfigError } from "../errors.js";

export interface PushedToken {
  token: string;
  expiresAt: Date;
  /** Set when the pushed `expires_at` lay further ahead than a registration token lives: what it said. */
  clampedFrom?: Date;
}

/** GitHub's registration tokens last one hour. */
const registrationTokenLifetimeMs = 60 * 60 * 1000;
/**
 * Room for the pusher's clock running ahead of ours: an `expires_at` up to this far past an hour
 * from now is kept as sent. Later ones are cut to it (maxExpiry) rather than refused, so a
 * workflow whose clock is off still renews the token; the stored expiry never claims more life
 * than a token can have, so health and `token_min_validity` stay honest.
 */
export const EXPIRY_CLOCK_MARGIN_MS = 5 * 60 * 1000;
/** Registration tokens are short runs of letters and digits; refuse anything that is not. */
const tokenPattern = /^[A-Za-z0-9_.-]{8,512}$/;
export const maxTokenInputBytes = 16 * 1024;

/** The latest expiry a token pushed at `now` may have. */
export function maxExpiry(now: Date): Date {
  return new Date(now.getTime() + registrationTokenLifetimeMs + EXPIRY_CLOCK_MARGIN_MS);
}

// No message below quotes the input: it is (or holds) a registration token, and the workflow
// that sent it prints runnerd's answer in its log, which anyone may read in a public repository.

export function parseTokenInput(input: string, now: Date): PushedToken {
  const text = input.trim();
  if (text === "") throw new ConfigError("token set: nothing on stdin: pipe GitHub's registration-token response or the bare token");
  if (text.startsWith("{")) return parseJsonResponse(text, now);
  if (!tokenPattern.test(text)) throw new ConfigError("token set: stdin is neither JSON nor a bare token (letters, digits, '.', '_', '-')");
  return { token: text, expiresAt: new Date(now.getTime() + registrationTokenLifetimeMs) };
}

function parseJsonResponse(text: string, now: Date): PushedToken {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the error.
    throw new ConfigError("token set: stdin starts with '{' but is not valid JSON");
  }
  return parseTokenResponse(body, now, { prefix: "token set: ", where: "the JSON on stdin" });
}

/**
 * The `token` and `expires_at` fields of a parsed registration-token response (other fields are
 * ignored). `prefix` and `where` place the messages: the CLI's stdin or an HTTP request body.
 * An expiry in the past is refused; one beyond maxExpiry is cut to it.
 */
const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

export function parseTokenResponse(body: unknown, now: Date, context: { prefix: string; where: string }): PushedToken {
  const { prefix, where } = context;
  const { token, expires_at: expiresAt } = (typeof body === "object" && body !== null ? body : {}) as { token?: unknown; expires_at?: unknown };
  if (typeof token !== "string" || !tokenPattern.test(token)) throw new ConfigError(`${prefix}field token is missing or malformed in ${where}`);
  if (expiresAt === undefined || expiresAt === null) throw new ConfigError(`${prefix}field expires_at is missing in ${where}`);
  // ISO 8601 with a date and a time, as GitHub sends it: `new Date` alone reads "99999" as a year.
  const expires = typeof expiresAt === "string" && isoDateTime.test(expiresAt) ? new Date(expiresAt) : new Date(Number.NaN);
  if (Number.isNaN(expires.getTime())) throw new ConfigError(`${prefix}field expires_at in ${where} is not a date (ISO 8601, as GitHub sends it)`);
  if (expires.getTime() <= now.getTime()) throw new ConfigError(`${prefix}field expires_at in ${where} is not in the future: the token has expired (this server's clock reads ${now.toISOString()})`);
  const latest = maxExpiry(now);
  if (expires.getTime() > latest.getTime()) return { token, expiresAt: latest, clampedFrom: expires };
  return { token, expiresAt: expires };
}

/** For logs and the CLI: why the stored expiry is not the one sent. */
export function clampNote(pushed: PushedToken): string | undefined {
  if (pushed.clampedFrom === undefined) return undefined;
  return `expires_at was more than an hour ahead (registration tokens last one hour); stored as ${pushed.expiresAt.toISOString()}`;
}
