// The route table's shape: a method, a path pattern, an optional OpenAPI operation, and a handler.
import type { IncomingMessage } from "node:http";
import type { Reply } from "./http-io.js";
import type { Credential, EmulatorState } from "./state.js";
import type { RunnerApplication } from "./types.js";

export interface RouteContext {
  state: EmulatorState;
  req: IncomingMessage;
  params: string[];
  query: URLSearchParams;
  /** Parsed JSON for `json` routes, raw text for `text` routes. */
  body: unknown;
  /** `scheme://host[:port]` as the client addressed us, so answers work through proxies. */
  origin: string;
  /** Aborted when the client goes away before we answered (long polls). */
  signal: AbortSignal;
  runnerApplications(origin: string): RunnerApplication[];
  /** Who called a REST route (verified); `none` elsewhere. */
  credential: Credential;
}

export interface Route {
  method: string;
  pattern: RegExp;
  operationId?: string;
  /**
   * `pat`: REST auth with a registered PAT or an installation token of the path's account;
   * `public`: no auth needed, but a token that is sent must be valid (GitHub answers 401 to bad
   * credentials even for public data); `app`: an app JWT; `none`: not REST (no rate limit, no
   * call log), the handler authenticates itself.
   */
  auth: "pat" | "public" | "app" | "none";
  body: "json" | "text";
  handle(ctx: RouteContext): Reply | Promise<Reply>;
}

export function param(ctx: RouteContext, index: number): string {
  const value = ctx.params[index];
  if (value === undefined) throw new Error(`route parameter ${index} missing`);
  return decodeURIComponent(value);
}
