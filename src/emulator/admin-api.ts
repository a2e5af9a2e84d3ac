// A thin JSON API over the emulator's test helpers, so another process (the demo) can drive it.
import { HttpError } from "./http-io.js";
import type { Reply } from "./http-io.js";
import { param } from "./routes.js";
import type { Route, RouteContext } from "./routes.js";
import type { RunnerControl } from "./runner-control.js";
import { parseScopeInput } from "./scope.js";
import type { ApiCall, AppGrant, AppInfo, JitConfigGrant, JobInput, JobRecord, RunnerFaultSpec, RunnerRecord, RunnerReleaseInfo, Scope, TokenGrant, Violation, WebhookDelivery, WebhookInput } from "./types.js";

/** The slice of the emulator facade the admin API needs. */
export interface AdminFacade extends RunnerControl {
  deleteRunner(id: number): void;
  enqueueJob(input: JobInput): JobRecord;
  jobs(): JobRecord[];
  job(id: number): JobRecord | undefined;
  runners(): RunnerRecord[];
  runnerHistory(): RunnerRecord[];
  mintRegistrationToken(scope: Scope, opts?: { expiresInSeconds?: number }): TokenGrant;
  mintJitConfig(scope: Scope, opts: { name: string; labels: string[]; runnerGroupId?: number }): JitConfigGrant;
  expireRegistrationTokens(): void;
  addPat(pat: string, opts?: { expiresAt?: Date }): void;
  createApp(opts?: { slug?: string }): AppGrant;
  installApp(appId: number, account: string, opts?: { type?: "Organization" | "User" }): { id: number };
  apps(): AppInfo[];
  setRateLimit(credential: string, opts: { remaining: number; resetInSeconds?: number }): void;
  apiCalls(): ApiCall[];
  clearApiCalls(): void;
  publishRunnerRelease(version: string, publishedAt?: Date): Promise<RunnerReleaseInfo>;
  runnerReleases(): RunnerReleaseInfo[];
  addWebhook(input: WebhookInput): number;
  webhookDeliveries(): WebhookDelivery[];
  readonly violations: readonly Violation[];
}

function requireScope(body: unknown): Scope {
  const scope = parseScopeInput((body as { scope?: unknown } | undefined)?.scope);
  if (scope === null) throw new HttpError(422, 'scope must be {"repo":"owner/name"} or {"org":"name"}');
  return scope;
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new HttpError(422, `${field} must be an array of strings`);
  return value as string[];
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function enqueue(facade: AdminFacade, ctx: RouteContext): Reply {
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  if (typeof body.script !== "string") throw new HttpError(422, "script must be a string");
  const job = facade.enqueueJob({
    scope: requireScope(body),
    labels: stringList(body.labels, "labels"),
    script: body.script,
    name: optionalString(body.name),
    repository: optionalString(body.repository),
    workflowName: optionalString(body.workflowName),
    runId: typeof body.runId === "number" ? body.runId : undefined,
  });
  return { status: 201, body: job };
}

/** `{"version":"2.331.0","publishedAt"?: ISO date or ms}`; bad input or a known version is a 422. */
async function publishRelease(facade: AdminFacade, ctx: RouteContext): Promise<Reply> {
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  if (typeof body.version !== "string") throw new HttpError(422, "version must be a string");
  const at = body.publishedAt;
  if (at !== undefined && typeof at !== "string" && typeof at !== "number") throw new HttpError(422, "publishedAt must be an ISO date or ms");
  try {
    return { status: 201, body: await facade.publishRunnerRelease(body.version, at === undefined ? undefined : new Date(at)) };
  } catch (err) {
    throw new HttpError(422, err instanceof Error ? err.message : String(err));
  }
}

/** `{"account":"octo","type"?:"Organization"|"User"}`; 422 for an unknown app or a second install. */
function installApp(facade: AdminFacade, ctx: RouteContext): Reply {
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  if (typeof body.account !== "string" || body.account === "") throw new HttpError(422, "account must be a non-empty string");
  const type = body.type === "User" ? "User" : "Organization";
  try {
    return { status: 201, body: facade.installApp(Number(param(ctx, 0)), body.account, { type }) };
  } catch (err) {
    throw new HttpError(422, err instanceof Error ? err.message : String(err));
  }
}

/** Runs a facade call that refuses bad input by throwing, answering 422 with its message. */
function refusing(call: () => void): Reply {
  try {
    call();
  } catch (err) {
    throw new HttpError(422, err instanceof Error ? err.message : String(err));
  }
  return { status: 204 };
}

/** `{"version":"2.331.0"}` or `{"version":null}`. */
function versionOrNull(body: unknown): string | null {
  const version = (body as { version?: unknown } | undefined)?.version;
  if (version !== null && typeof version !== "string") throw new HttpError(422, "version must be a string or null");
  return version;
}

/** Listener steering (runner-control.ts): update offers, the minimum version, runner faults, deleted registrations. */
function runnerControlRoutes(facade: AdminFacade, route: (method: string, path: string, handle: (ctx: RouteContext) => Reply) => Route): Route[] {
  return [
    route("POST", "/runner-update", (ctx) => refusing(() => facade.offerRunnerUpdate(versionOrNull(ctx.body)))),
    route("POST", "/runner-minimum-version", (ctx) => refusing(() => facade.setMinimumRunnerVersion(versionOrNull(ctx.body)))),
    route("POST", "/runner-faults", (ctx) => refusing(() => facade.armRunnerFault((ctx.body ?? {}) as RunnerFaultSpec))),
    route("DELETE", "/runner-faults", () => refusing(() => facade.clearRunnerFaults())),
    route("DELETE", "/runners/(\\d+)", (ctx) => refusing(() => facade.deleteRunner(Number(param(ctx, 0))))),
  ];
}

export function adminRoutes(facade: AdminFacade): Route[] {
  const route = (method: string, path: string, handle: (ctx: RouteContext) => Reply | Promise<Reply>): Route => ({
    method, pattern: new RegExp(`^/_admin${path}$`), auth: "none", body: "json", handle,
  });
  return [
    route("POST", "/jobs", (ctx) => enqueue(facade, ctx)),
    route("GET", "/jobs", () => ({ status: 200, body: facade.jobs() })),
    route("GET", "/jobs/(\\d+)", (ctx) => {
      const job = facade.job(Number(param(ctx, 0)));
      if (job === undefined) throw new HttpError(404, "Not Found");
      return { status: 200, body: job };
    }),
    route("GET", "/runners", (ctx) => ({
      status: 200, body: ctx.query.get("history") === null ? facade.runners() : facade.runnerHistory(),
    })),
    route("POST", "/registration-token", (ctx) => {
      const seconds = (ctx.body as { expiresInSeconds?: unknown } | undefined)?.expiresInSeconds;
      const opts = typeof seconds === "number" ? { expiresInSeconds: seconds } : {};
      return { status: 201, body: facade.mintRegistrationToken(requireScope(ctx.body), opts) };
    }),
    route("POST", "/jitconfig", (ctx) => {
      const body = (ctx.body ?? {}) as Record<string, unknown>;
      if (typeof body.name !== "string") throw new HttpError(422, "name must be a string");
      const grant = facade.mintJitConfig(requireScope(body), {
        name: body.name,
        labels: stringList(body.labels, "labels"),
        runnerGroupId: typeof body.runner_group_id === "number" ? body.runner_group_id : undefined,
      });
      return { status: 201, body: grant };
    }),
    route("POST", "/expire-tokens", () => {
      facade.expireRegistrationTokens();
      return { status: 204 };
    }),
    route("POST", "/pats", (ctx) => {
      const { pat, expiresAt } = (ctx.body ?? {}) as { pat?: unknown; expiresAt?: unknown };
      if (typeof pat !== "string" || pat === "") throw new HttpError(422, "pat must be a non-empty string");
      if (expiresAt !== undefined && typeof expiresAt !== "string" && typeof expiresAt !== "number") throw new HttpError(422, "expiresAt must be an ISO date or ms");
      facade.addPat(pat, expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt) });
      return { status: 204 };
    }),
    route("POST", "/apps", (ctx) => ({ status: 201, body: facade.createApp({ slug: optionalString((ctx.body as { slug?: unknown } | undefined)?.slug) }) })),
    route("GET", "/apps", () => ({ status: 200, body: facade.apps() })),
    route("POST", "/apps/(\\d+)/installations", (ctx) => installApp(facade, ctx)),
    route("POST", "/rate-limits", (ctx) => {
      const body = (ctx.body ?? {}) as Record<string, unknown>;
      if (typeof body.credential !== "string" || typeof body.remaining !== "number") throw new HttpError(422, "credential (string) and remaining (number) are required");
      const resetInSeconds = typeof body.resetInSeconds === "number" ? body.resetInSeconds : undefined;
      try {
        facade.setRateLimit(body.credential, { remaining: body.remaining, resetInSeconds });
      } catch (err) {
        throw new HttpError(422, err instanceof Error ? err.message : String(err));
      }
      return { status: 204 };
    }),
    route("GET", "/api-calls", () => ({ status: 200, body: facade.apiCalls() })),
    route("DELETE", "/api-calls", () => {
      facade.clearApiCalls();
      return { status: 204 };
    }),
    route("POST", "/runner-releases", (ctx) => publishRelease(facade, ctx)),
    route("GET", "/runner-releases", () => ({ status: 200, body: facade.runnerReleases() })),
    route("POST", "/webhooks", (ctx) => {
      const body = (ctx.body ?? {}) as Record<string, unknown>;
      if (typeof body.url !== "string" || typeof body.secret !== "string") throw new HttpError(422, "url and secret must be strings");
      const scope = body.scope === undefined ? undefined : requireScope(body);
      return { status: 201, body: { id: facade.addWebhook({ url: body.url, secret: body.secret, scope }) } };
    }),
    route("GET", "/webhook-deliveries", () => ({ status: 200, body: facade.webhookDeliveries() })),
    route("GET", "/violations", () => ({ status: 200, body: facade.violations })),
    ...runnerControlRoutes(facade, route),
  ];
}
