// The fake runner's wire protocol: registration, session, long-poll for a job, script, log, result.
// Every answer the runner parses is plain text or one-line JSON, because it parses them with sed.
import { HttpError, bearerToken, parseJsonBody } from "./http-io.js";
import type { Reply } from "./http-io.js";
import { assignedJob, completeJob, dispatchJobs, jobForRunner, startJob } from "./job-queue.js";
import { deleteRunner, findRunnerByCredential, findRunnerByName, registerRunner } from "./runner-registry.js";
import { param } from "./routes.js";
import type { Route, RouteContext } from "./routes.js";
import { parseRunnerUrl, sameScope } from "./scope.js";
import { notifyChange } from "./state.js";
import type { AdminToken, EmulatorState, PollAnswer, PollingListener, PollWaiter } from "./state.js";
import { controlAnswer, jobGone, sessionConflict } from "./runner-control.js";
import { RUNNER_ARCHES } from "./runner-downloads.js";
import { checkIssuedToken, findAdminToken, mintAdminToken } from "./tokens.js";
import type { RunnerRecord } from "./types.js";

function route(method: string, path: string, body: Route["body"], handle: Route["handle"]): Route {
  return { method, pattern: new RegExp(`^${path}$`), auth: "none", body, handle };
}

function runnerRegistration(ctx: RouteContext): Reply {
  const token = bearerToken(ctx.req, ["remoteauth"]);
  if (token === null) throw new HttpError(401, "Requires authentication");
  const body = (ctx.body ?? {}) as { url?: unknown; runner_event?: unknown };
  const scope = typeof body.url === "string" ? parseRunnerUrl(body.url) : null;
  if (scope === null) throw new HttpError(400, "url must name a repository or organization");
  const event = body.runner_event === "remove" ? "remove" : "register";
  const check = checkIssuedToken(ctx.state, token, scope);
  if (!check.ok) throw new HttpError(check.status, check.message);
  if (check.token.kind !== (event === "remove" ? "remove" : "registration")) {
    throw new HttpError(403, `A ${check.token.kind} token cannot be used to ${event} a runner`);
  }
  const admin = mintAdminToken(ctx.state, scope, event);
  return { status: 200, body: { url: ctx.origin, token_schema: "OAuthAccessToken", token: admin.token, use_v2_flow: false } };
}

function adminScope(ctx: RouteContext, event: "register" | "remove"): AdminToken {
  const admin = findAdminToken(ctx.state, bearerToken(ctx.req, ["bearer"]));
  if (admin === null || admin.runnerEvent !== event) throw new HttpError(401, "Bad credentials");
  return admin;
}

function register(ctx: RouteContext): Reply {
  const admin = adminScope(ctx, "register");
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  const scope = typeof body.url === "string" ? parseRunnerUrl(body.url) : null;
  if (scope === null || !sameScope(scope, admin.scope)) throw new HttpError(403, "url does not match the registration token's scope");
  if (typeof body.name !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(body.name)) throw new HttpError(422, "name is invalid");
  const labels = Array.isArray(body.labels) ? body.labels.filter((l): l is string => typeof l === "string") : [];
  const runner = registerRunner(ctx.state, {
    scope,
    name: body.name,
    labels,
    ephemeral: body.ephemeral === true,
    disableUpdate: body.updates_disabled === true,
    replace: body.replace === true,
    groupId: typeof body.group_id === "number" ? body.group_id : undefined,
    groupName: typeof body.runner_group === "string" ? body.runner_group : undefined,
  });
  return {
    status: 200,
    body: {
      id: runner.id, name: runner.name, credential: runner.credential, server_url: ctx.origin,
      pool_id: runner.groupId, ephemeral: runner.ephemeral, updates_disabled: runner.disableUpdate,
    },
  };
}

function removeRegistration(ctx: RouteContext): Reply {
  const admin = adminScope(ctx, "remove");
  const body = (ctx.body ?? {}) as { id?: unknown; name?: unknown };
  const runner = typeof body.id === "number" ? ctx.state.runners.get(body.id)
    : typeof body.name === "string" ? findRunnerByName(ctx.state, admin.scope, body.name) : undefined;
  if (runner === undefined || runner.deletedAt !== null || !sameScope(runner.scope, admin.scope)) throw new HttpError(404, "Runner not found");
  deleteRunner(ctx.state, runner.id);
  return { status: 200, body: { id: runner.id, removed: true } };
}

/** The runner behind `Authorization: Bearer <credential>`; 404 once its registration is gone. */
function requireRunner(ctx: RouteContext): RunnerRecord {
  const runner = findRunnerByCredential(ctx.state, bearerToken(ctx.req, ["bearer"]));
  if (runner === undefined) throw new HttpError(401, "Bad credentials");
  if (runner.deletedAt !== null) throw new HttpError(404, "Runner not found: the registration has been deleted");
  return runner;
}

/** Whether another listener holds the runner's session: one polling now or lately, or running a job. */
function sessionHeld(state: EmulatorState, runner: RunnerRecord): boolean {
  if (runner.session === null) return false;
  if (state.waiters.has(runner.id) || runner.busy) return true;
  const seen = runner.lastPollAt ?? runner.listeningAt;
  return seen !== null && state.now() - seen < state.longPollMs + 15_000;
}

function openSession(ctx: RouteContext): Reply {
  const runner = requireRunner(ctx);
  // One listener per registration: a second one meets a session conflict, a JIT runner's included.
  // A listener that deleted its session (it exits to update itself, or after a retryable error)
  // may open a new one, as run.sh's restarted listener does.
  const conflict = sessionConflict(ctx.state, runner, sessionHeld(ctx.state, runner));
  if (conflict !== undefined) return conflict;
  const body = typeof ctx.body === "string" && ctx.body.trim().startsWith("{") ? parseJsonBody(ctx.body) : undefined;
  const version = (body as { version?: unknown } | undefined)?.version;
  runner.version = typeof version === "string" ? version : ctx.state.runnerVersion;
  runner.os = "Linux";
  runner.listeningAt = ctx.state.now();
  runner.lastPollAt = null;
  runner.sessions += 1;
  runner.session = `session-${runner.id}-${runner.sessions}`;
  notifyChange(ctx.state);
  return { status: 200, body: { session_id: runner.session, runner_id: runner.id } };
}

/** The listener deletes its session when it stops (Runner.cs RunAsync's finally). POST: busybox wget has no DELETE. */
function deleteSession(ctx: RouteContext): Reply {
  const runner = requireRunner(ctx);
  runner.session = null;
  ctx.state.waiters.get(runner.id)?.answer("timeout");
  notifyChange(ctx.state);
  return { status: 204 };
}

/** The listener's poll query (BrokerHttpClient.GetRunnerMessageAsync: runnerVersion, architecture, disableUpdate). */
function pollingListener(ctx: RouteContext): PollingListener {
  const version = ctx.query.get("runnerVersion");
  const arch = (ctx.query.get("architecture") ?? "x64").toLowerCase();
  return {
    version: version !== null && /^\d+\.\d+\.\d+$/.test(version) ? version : null,
    updatesDisabled: ctx.query.get("disableUpdate") === "true",
    arch: (RUNNER_ARCHES as readonly string[]).includes(arch) ? arch : "x64",
    origin: ctx.origin,
  };
}

function toReply(answer: PollAnswer): Reply {
  if (answer === "gone") return { status: 404, body: { message: "Runner not found: the registration has been deleted" } };
  if (answer === "timeout") return { status: 204 };
  if (typeof answer === "number") return { status: 200, body: String(answer) };
  return "reply" in answer ? answer.reply : { status: 200, body: answer.message };
}

function pollMessage(ctx: RouteContext): Reply | Promise<Reply> {
  const runner = requireRunner(ctx);
  const { state } = ctx;
  runner.lastPollAt = state.now();
  const listener = pollingListener(ctx);
  const control = controlAnswer(state, runner, listener);
  if (control !== undefined) return toReply(control);
  // A runner that lost our previous answer gets the same job again rather than a second one.
  const pending = assignedJob(state, runner);
  if (pending !== undefined) return { status: 200, body: String(pending.id) };
  return new Promise<Reply>((resolve) => {
    let answered = false;
    const waiter: PollWaiter = {
      runnerId: runner.id,
      listener,
      answer(outcome) {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        if (state.waiters.get(runner.id) === waiter) state.waiters.delete(runner.id);
        runner.lastPollAt = state.now();
        resolve(toReply(outcome));
      },
    };
    state.waiters.get(runner.id)?.answer("timeout");
    state.waiters.set(runner.id, waiter);
    const timer = setTimeout(() => waiter.answer("timeout"), state.longPollMs);
    timer.unref();
    ctx.signal.addEventListener("abort", () => waiter.answer("timeout"), { once: true });
    dispatchJobs(state);
  });
}

function jobId(ctx: RouteContext): number {
  return Number(param(ctx, 0));
}

/** Fetching the job is the listener acknowledging it. */
function jobInfo(ctx: RouteContext): Reply {
  const runner = requireRunner(ctx);
  const job = jobForRunner(ctx.state, runner, jobId(ctx));
  const gone = jobGone(ctx.state, runner, job);
  if (gone !== undefined) return gone;
  return { status: 200, body: { id: job.id, name: job.name, repository: job.repository } };
}

function jobScript(ctx: RouteContext): Reply {
  const job = jobForRunner(ctx.state, requireRunner(ctx), jobId(ctx));
  startJob(ctx.state, job);
  return { status: 200, body: job.script.endsWith("\n") ? job.script : `${job.script}\n` };
}

function jobLog(ctx: RouteContext): Reply {
  const job = jobForRunner(ctx.state, requireRunner(ctx), jobId(ctx));
  job.log += String(ctx.body ?? "");
  return { status: 200, body: "ok\n" };
}

function jobComplete(ctx: RouteContext): Reply {
  const runner = requireRunner(ctx);
  const job = jobForRunner(ctx.state, runner, jobId(ctx));
  const match = /exit_code=(-?\d+)/.exec(String(ctx.body ?? ""));
  if (match?.[1] === undefined) throw new HttpError(400, "body must be exit_code=N");
  completeJob(ctx.state, job, runner, Number(match[1]));
  return { status: 200, body: `${job.conclusion ?? ""}\n` };
}

export const runnerRoutes: readonly Route[] = [
  route("POST", "/actions/runner-registration", "json", runnerRegistration),
  route("POST", "/actions/runners/register", "json", register),
  route("POST", "/actions/runners/remove", "json", removeRegistration),
  route("POST", "/_runner/sessions", "text", openSession),
  route("POST", "/_runner/sessions/delete", "text", deleteSession),
  route("POST", "/_runner/message", "text", pollMessage),
  route("GET", "/_runner/jobs/(\\d+)", "text", jobInfo),
  route("GET", "/_runner/jobs/(\\d+)/script", "text", jobScript),
  route("POST", "/_runner/jobs/(\\d+)/log", "text", jobLog),
  route("POST", "/_runner/jobs/(\\d+)/complete", "text", jobComplete),
];
