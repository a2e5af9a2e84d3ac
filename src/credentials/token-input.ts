// Parses what `runnerd token set` reads on stdin: GitHub's registration-token response
// (`{"token": ..., "expires_at": ...}`) or a bare token, which GitHub makes valid for one hour.
import { ConfigError } from "../errors.js";

export interface PushedToken {
  token: string;
  expiresAt: Date;
}

const bareTokenLifetimeMs = 60 * 60 * 1000;
/** Registration tokens are short runs of letters and digits; refuse anything that is not. */
const tokenPattern = /^[A-Za-z0-9_.-]{8,512}$/;
export const maxTokenInputBytes = 16 * 1024;

export function parseTokenInput(input: string, now: Date): PushedToken {
  const text = input.trim();
  if (text === "") throw new ConfigError("token set: nothing on stdin: pipe GitHub's registration-token response or the bare token");
  if (text.startsWith("{")) return parseJsonResponse(text, now);
  if (!tokenPattern.test(text)) throw new ConfigError("token set: stdin is neither JSON nor a bare token (letters, digits, '.', '_', '-')");
  return { token: text, expiresAt: new Date(now.getTime() + bareTokenLifetimeMs) };
}

function parseJsonResponse(text: string, now: Date): PushedToken {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`token set: stdin starts with '{' but is not valid JSON (${(err as Error).message})`);
  }
  return parseTokenResponse(body, now, { prefix: "token set: ", where: "the JSON on stdin" });
}

/**
 * The `token` and `expires_at` fields of a parsed registration-token response (other fields are
 * ignored). `prefix` and `where` place the messages: the CLI's stdin or an HTTP request body.
 */
export function parseTokenResponse(body: unknown, now: Date, context: { prefix: string; where: string }): PushedToken {
  const { prefix, where } = context;
  const { token, expires_at: expiresAt } = (typeof body === "object" && body !== null ? body : {}) as { token?: unknown; expires_at?: unknown };
  if (typeof token !== "string" || !tokenPattern.test(token)) throw new ConfigError(`${prefix}field token is missing or malformed in ${where}`);
  if (typeof expiresAt !== "string") throw new ConfigError(`${prefix}field expires_at is missing in ${where}`);
  const expires = new Date(expiresAt);
  if (Number.isNaN(expires.getTime())) throw new ConfigError(`${prefix}field expires_at is not a date: ${JSON.stringify(expiresAt).slice(0, 40)}`);
  if (expires.getTime() <= now.getTime()) throw new ConfigError(`${prefix}the token expired at ${expires.toISOString()}`);
  return { token, expiresAt: expires };
}
