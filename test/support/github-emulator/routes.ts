// The route table's shape: a method, a path pattern, an optional OpenAPI operation, and a handler.
import type { IncomingMessage } from "node:http";
import type { Reply } from "./http-io.js";
import type { EmulatorState } from "./state.js";
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
}

export interface Route {
  method: string;
  pattern: RegExp;
  operationId?: string;
  /**
   * `pat`: REST auth with a registered PAT; `public`: no auth needed, but a token that is sent must
   * be a registered PAT (GitHub answers 401 to bad credentials even for public data); `none`: the
   * handler authenticates itself.
   */
  auth: "pat" | "public" | "none";
  body: "json" | "text";
  handle(ctx: RouteContext): Reply | Promise<Reply>;
}

export function param(ctx: RouteContext, index: number): string {
  const value = ctx.params[index];
  if (value === undefined) throw new Error(`route parameter ${index} missing`);
  return decodeURIComponent(value);
}
