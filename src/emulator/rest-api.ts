// The GitHub REST operations runnerd calls, for repository and organisation scopes.
import { HttpError } from "./http-io.js";
import type { Reply } from "./http-io.js";
import { encodeJitConfig } from "./jit-config.js";
import { deleteRunner, liveRunner, registerRunner, toApiRunner } from "./runner-registry.js";
import { param } from "./routes.js";
import type { Route, RouteContext } from "./routes.js";
import { runnerGroupsOf } from "./state.js";
import { mintToken } from "./tokens.js";
import type { Scope } from "./types.js";

const REPO = "/repos/([^/]+)/([^/]+)";
const ORG = "/orgs/([^/]+)";

function scopeOf(ctx: RouteContext, kind: "repo" | "org"): Scope {
  return kind === "repo" ? { repo: `${param(ctx, 0)}/${param(ctx, 1)}` } : { org: param(ctx, 0) };
}

/** Index of the first parameter after the scope's own ones. */
function restIndex(kind: "repo" | "org"): number {
  return kind === "repo" ? 2 : 1;
}

function runnerId(ctx: RouteContext, kind: "repo" | "org"): number {
  return Number(param(ctx, restIndex(kind)));
}

function scopedRoutes(kind: "repo" | "org"): Route[] {
  const prefix = kind === "repo" ? REPO : ORG;
  const op = (name: string): string => `actions/${name}-${kind === "repo" ? "for-repo" : "for-org"}`;
  const route = (method: string, tail: string, operationId: string, handle: Route["handle"]): Route => ({
    method, pattern: new RegExp(`^${prefix}${tail}$`), operationId, auth: "pat", body: "json", handle,
  });
  return [
    route("POST", "/actions/runners/registration-token", op("create-registration-token"),
      (ctx) => ({ status: 201, body: mintToken(ctx.state, scopeOf(ctx, kind), "registration") })),
    route("POST", "/actions/runners/remove-token", op("create-remove-token"),
      (ctx) => ({ status: 201, body: mintToken(ctx.state, scopeOf(ctx, kind), "remove") })),
    route("POST", "/actions/runners/generate-jitconfig", op("generate-runner-jitconfig"), (ctx) => generateJit(ctx, scopeOf(ctx, kind))),
    route("GET", "/actions/runners", op("list-self-hosted-runners"), (ctx) => listRunners(ctx, scopeOf(ctx, kind))),
    route("GET", "/actions/runners/downloads", op("list-runner-applications"),
      (ctx) => ({ status: 200, body: ctx.runnerApplications(ctx.origin) })),
    route("GET", "/actions/runners/(\\d+)", kind === "repo" ? "actions/get-self-hosted-runner-for-repo" : "actions/get-self-hosted-runner-for-org",
      (ctx) => ({ status: 200, body: toApiRunner(ctx.state, liveRunner(ctx.state, scopeOf(ctx, kind), runnerId(ctx, kind))) })),
    route("DELETE", "/actions/runners/(\\d+)", kind === "repo" ? "actions/delete-self-hosted-runner-from-repo" : "actions/delete-self-hosted-runner-from-org",
      (ctx) => removeRunner(ctx, scopeOf(ctx, kind), runnerId(ctx, kind))),
    route("GET", "/actions/runners/(\\d+)/labels", op("list-labels-for-self-hosted-runner"), (ctx) => {
      const runner = liveRunner(ctx.state, scopeOf(ctx, kind), runnerId(ctx, kind));
      return { status: 200, body: { total_count: runner.labels.length, labels: runner.labels } };
    }),
  ];
}

function listRunners(ctx: RouteContext, scope: Scope): Reply {
  const perPage = clampInt(ctx.query.get("per_page"), 30, 1, 100);
  const page = clampInt(ctx.query.get("page"), 1, 1, Number.MAX_SAFE_INTEGER);
  const name = ctx.query.get("name");
  const all = [...ctx.state.runners.values()]
    .filter((r) => r.deletedAt === null && liveInScope(r.scope, scope))
    .filter((r) => name === null || r.name.toLowerCase() === name.toLowerCase());
  const slice = all.slice((page - 1) * perPage, page * perPage);
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const headers: Record<string, string> = {};
  const link = linkHeader(ctx, page, lastPage);
  if (link !== "") headers.link = link;
  return { status: 200, headers, body: { total_count: all.length, runners: slice.map((r) => toApiRunner(ctx.state, r)) } };
}

function liveInScope(a: Scope, b: Scope): boolean {
  return "repo" in a && "repo" in b ? a.repo.toLowerCase() === b.repo.toLowerCase()
    : "org" in a && "org" in b ? a.org.toLowerCase() === b.org.toLowerCase() : false;
}

/** GitHub's `Link` header for page `page` of `lastPage`, keeping the request's other query parameters. */
export function linkHeader(ctx: RouteContext, page: number, lastPage: number): string {
  const url = new URL(ctx.req.url ?? "/", ctx.origin);
  const at = (p: number): string => {
    url.searchParams.set("page", String(p));
    return url.toString();
  };
  const parts: string[] = [];
  if (page > 1) parts.push(`<${at(page - 1)}>; rel="prev"`, `<${at(1)}>; rel="first"`);
  if (page < lastPage) parts.push(`<${at(page + 1)}>; rel="next"`, `<${at(lastPage)}>; rel="last"`);
  return parts.join(", ");
}

export function clampInt(value: string | null, fallback: number, min: number, max: number): number {
  const n = value === null ? fallback : Number.parseInt(value, 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

function removeRunner(ctx: RouteContext, scope: Scope, id: number): Reply {
  const runner = liveRunner(ctx.state, scope, id);
  // GitHub refuses (422) to delete a runner with a job: one assigned and not yet started counts
  // (the REST `busy` flag is already true then), or deleting it would strand the job.
  const running = runner.busy || [...ctx.state.jobs.values()].some((j) => j.runnerId === id && j.status === "in_progress");
  if (running) throw new HttpError(422, `Bad request - Runner "${runner.name}" is still running a job"`);
  deleteRunner(ctx.state, id);
  return { status: 204 };
}

function generateJit(ctx: RouteContext, scope: Scope): Reply {
  const body = ctx.body as { name: string; runner_group_id: number; labels: string[]; work_folder?: string };
  const runner = registerRunner(ctx.state, {
    scope, name: body.name, labels: body.labels, ephemeral: true, disableUpdate: false, replace: false,
    groupId: body.runner_group_id, jit: true,
  });
  return {
    status: 201,
    body: {
      runner: toApiRunner(ctx.state, runner),
      encoded_jit_config: encodeJitConfig(runner, ctx.origin, body.work_folder ?? "_work"),
    },
  };
}

function orgGroupRoute(): Route {
  return {
    method: "GET", pattern: new RegExp(`^${ORG}/actions/runner-groups$`),
    operationId: "actions/list-self-hosted-runner-groups-for-org", auth: "pat", body: "json",
    handle(ctx) {
      const org = param(ctx, 0);
      const groups = runnerGroupsOf(ctx.state, org).map((g) => ({
        id: g.id,
        name: g.name,
        visibility: "all",
        default: g.default,
        runners_url: `${ctx.origin}/api/v3/orgs/${org}/actions/runner-groups/${g.id}/runners`,
        inherited: false,
        allows_public_repositories: false,
        restricted_to_workflows: false,
        selected_workflows: [],
        workflow_restrictions_read_only: false,
      }));
      return { status: 200, body: { total_count: groups.length, runner_groups: groups } };
    },
  };
}

export const restRoutes: readonly Route[] = [...scopedRoutes("repo"), ...scopedRoutes("org"), orgGroupRoute()];
