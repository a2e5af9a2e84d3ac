// Request dispatch: path prefixes, faults, REST auth and rate limits, schema checks, the call log.
import type { IncomingMessage, ServerResponse } from "node:http";
import { NO_CREDENTIAL, authenticate, authorize, credentialHeaders, credentialKind } from "./credentials.js";
import { faultMessage } from "./faults.js";
import type { FaultList } from "./faults.js";
import { HttpError, errorBody, parseJsonBody, readBody, sleep, writeReply } from "./http-io.js";
import type { Reply } from "./http-io.js";
import type { SchemaCatalog } from "./openapi-validator.js";
import { RATE_LIMIT_OPERATION, anonymousHeaders, applyRateLimit } from "./rate-limits.js";
import { parseTarballName, RUNNER_ARCHES } from "./runner-downloads.js";
import { findRelease } from "./runner-releases.js";
import type { Route, RouteContext } from "./routes.js";
import type { EmulatorState } from "./state.js";
import type { FaultSpec, RunnerApplication, Violation } from "./types.js";

export interface ServerDeps {
  state: EmulatorState;
  routes: readonly Route[];
  adminRoutes: readonly Route[];
  faults: FaultList;
  catalog: SchemaCatalog | null;
  violations: Violation[];
  runnerApplications(origin: string): RunnerApplication[];
}

export function createRequestHandler(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      writeReply(res, { status: 500, body: errorBody(`emulator bug: ${err instanceof Error ? err.stack ?? err.message : String(err)}`) });
    });
  };
}

/** GHES serves the API under /api/v3; github.com at the root. Both lead to the same routes. */
function apiPath(pathname: string): string {
  if (pathname === "/api/v3") return "/";
  return pathname.startsWith("/api/v3/") ? pathname.slice("/api/v3".length) : pathname;
}

/** How the client addressed us. Wget2 leaves the port out of Host even when it is not 80. */
function originOf(req: IncomingMessage): string {
  const host = req.headers.host ?? "127.0.0.1";
  return /:\d+$/.test(host) ? `http://${host}` : `http://${host}:${req.socket.localPort ?? 80}`;
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://emulator");
  const path = apiPath(url.pathname);
  const method = (req.method ?? "GET").toUpperCase();
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableEnded) controller.abort();
  });
  const ctxBase = {
    state: deps.state, req, query: url.searchParams, signal: controller.signal,
    origin: originOf(req), runnerApplications: deps.runnerApplications, credential: NO_CREDENTIAL,
  };

  if (path.startsWith("/_admin/")) {
    const match = findRoute(deps.adminRoutes, method, path);
    const reply = match === null ? notFound() : await run(match, { ...ctxBase, params: match.params, body: await readJson(req) });
    writeReply(res, reply);
    return;
  }

  const fault = deps.faults.take(method, url.pathname);
  if (fault?.delayMs !== undefined) await sleep(fault.delayMs);
  if (fault?.status !== undefined) {
    await readBody(req);
    writeReply(res, faultReply(fault, fault.status));
    const route = findRoute(deps.routes, method, path);
    if (route === null ? isRestPath(path) : route.auth !== "none") logCall(deps, req, method, path, route?.operationId ?? "", fault.status);
    return;
  }
  // After the faults, so a test can make a runner download fail or crawl.
  if (path.startsWith("/_downloads/") && method === "GET") {
    writeReply(res, download(deps, path));
    return;
  }

  const match = findRoute(deps.routes, method, path);
  if (match === null) {
    await readBody(req);
    writeReply(res, notFound());
    if (isRestPath(path)) logCall(deps, req, method, path, "", 404);
    return;
  }
  const reply = await answer(deps, match, { ...ctxBase, params: match.params }, method, url.pathname, fault);
  writeReply(res, reply);
  if (match.auth !== "none") logCall(deps, req, method, path, match.operationId ?? "", reply.status);
}

/** Unknown paths count as REST calls unless they belong to the runner protocol or the emulator. */
function isRestPath(path: string): boolean {
  return !path.startsWith("/_") && !path.startsWith("/actions/");
}

function logCall(deps: ServerDeps, req: IncomingMessage, method: string, path: string, operationId: string, status: number): void {
  deps.state.apiCalls.push({ at: Date.now(), method, path, operationId, credential: credentialKind(deps.state, req), status });
}

async function answer(
  deps: ServerDeps,
  match: Route & { params: string[] },
  ctx: Omit<RouteContext, "body">,
  method: string,
  pathname: string,
  fault: FaultSpec | undefined,
): Promise<Reply> {
  const text = await readBody(ctx.req);
  const op = match.operationId !== undefined && deps.catalog !== null ? deps.catalog.operation(match.operationId) : null;
  const record = (direction: Violation["direction"], errors: string, status?: number): void => {
    deps.violations.push({ at: Date.now(), method, path: pathname, operationId: match.operationId ?? "", direction, status, errors });
  };

  let reply: Reply;
  // REST answers carry the caller's rate-limit window; a caller that fails to authenticate counts as anonymous.
  let extraHeaders: Record<string, string> = match.auth === "none" ? {} : anonymousHeaders(deps.state);
  try {
    if (match.auth !== "none") {
      const credential = await authenticate(deps.state, ctx.req);
      // Counted before the permission check: GitHub charges a 403 to the caller's window too.
      extraHeaders = credentialHeaders(credential);
      extraHeaders = { ...applyRateLimit(deps.state, credential, ctx.req, match.operationId === RATE_LIMIT_OPERATION), ...extraHeaders };
      authorize(match, credential, apiPath(pathname), method);
      ctx = { ...ctx, credential };
    }
    const body = match.body === "json" ? parseJsonBody(text) : text;
    const requestErrors = op?.checkRequest(body) ?? null;
    if (requestErrors !== null) {
      record("request", requestErrors);
      // GitHub rejects malformed input with 422; the violation is kept so the test still fails.
      throw new HttpError(422, `Invalid request (emulator schema check): ${requestErrors}`);
    }
    reply = await match.handle({ ...ctx, body });
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    reply = { status: err.status, body: errorBody(err.message), headers: err.headers };
  }

  if (fault?.mutateBody !== undefined) reply = { ...reply, body: fault.mutateBody(reply.body) };
  if (op !== null && reply.status !== 204) {
    const responseErrors = op.checkResponse(reply.status, reply.body);
    if (responseErrors !== null) {
      record("response", responseErrors, reply.status);
      return { status: 500, body: errorBody(`Emulator response does not match the OpenAPI schema (${match.operationId}): ${responseErrors}`) };
    }
  }
  return { ...reply, headers: { ...extraHeaders, ...reply.headers } };
}

function findRoute(routes: readonly Route[], method: string, path: string): (Route & { params: string[] }) | null {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (m !== null) return { ...route, params: m.slice(1).map((p) => p ?? "") };
  }
  return null;
}

async function run(route: Route & { params: string[] }, ctx: RouteContext): Promise<Reply> {
  try {
    return await route.handle(ctx);
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, body: errorBody(err.message) };
    throw err;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  try {
    return parseJsonBody(await readBody(req));
  } catch {
    return undefined;
  }
}

function notFound(): Reply {
  return { status: 404, body: errorBody("Not Found") };
}

function faultReply(fault: FaultSpec, status: number): Reply {
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
  if (status === 429 || status === 403) {
    headers["x-ratelimit-remaining"] = "0";
    headers["x-ratelimit-reset"] = String(Math.floor(Date.now() / 1000) + (fault.retryAfter ?? 60));
  }
  return { status, headers, body: errorBody(faultMessage(status)) };
}

/** A release asset's tarball; unknown versions and architectures answer 404. Counts downloads. */
function download(deps: ServerDeps, path: string): Reply {
  const name = path.slice("/_downloads/".length);
  const parsed = parseTarballName(name);
  if (parsed === null || !(RUNNER_ARCHES as readonly string[]).includes(parsed.arch)) return notFound();
  const release = findRelease(deps.state, parsed.version);
  if (release === undefined || release.tarball === null) return notFound();
  release.downloads.set(name, (release.downloads.get(name) ?? 0) + 1);
  return { status: 200, body: release.tarball.data, headers: { "content-type": "application/gzip" } };
}
