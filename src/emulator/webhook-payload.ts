// The bodies GitHub posts to webhooks, shaped after its OpenAPI `x-webhooks` schemas: the
// `workflow_job` event for each job transition, and the `ping` a new hook gets.
import { createHash } from "node:crypto";
import { accountId, findInstallation, isoSeconds, simpleUser } from "./apps.js";
import type { EmulatorState, InstallationRecord, JobAction } from "./state.js";
import { runnerGroupsOf } from "./state.js";
import type { JobRecord } from "./types.js";

/** Who the emulator says triggered every workflow run. */
export const SENDER_LOGIN = "octocat";

export interface PayloadContext {
  state: EmulatorState;
  /** The emulator's URL; API URLs in payloads are GHES-style, `${origin}/api/v3/...`. */
  origin: string;
}

/** The account owning a repository: an organisation if anything in the emulator says so. */
export function ownerIsOrg(state: EmulatorState, job: JobRecord, owner: string): boolean {
  if ("org" in job.scope) return true;
  if (state.groups.has(owner.toLowerCase())) return true;
  return [...state.installations.values()].some((i) => i.account.toLowerCase() === owner.toLowerCase() && i.accountType === "Organization");
}

/** A stable positive id from a name, so a repository keeps its id across payloads and emulators. */
export function stableId(name: string): number {
  return Number.parseInt(createHash("sha1").update(name.toLowerCase()).digest("hex").slice(0, 8), 16);
}

export function nodeId(kind: string, id: number): string {
  return Buffer.from(`${kind}${id}`).toString("base64");
}

/** components/schemas/organization-simple-webhooks */
export function webhookOrganization(ctx: PayloadContext, login: string): Record<string, unknown> {
  const id = accountId(ctx.state, login);
  const api = `${ctx.origin}/api/v3/orgs/${login}`;
  return {
    login, id, node_id: nodeId("04:Organization", id), url: api,
    repos_url: `${api}/repos`, events_url: `${api}/events`, hooks_url: `${api}/hooks`, issues_url: `${api}/issues`,
    members_url: `${api}/members{/member}`, public_members_url: `${api}/public_members{/member}`,
    avatar_url: `${ctx.origin}/avatars/${login}`, description: null,
  };
}

/** components/schemas/repository-webhooks */
export function webhookRepository(ctx: PayloadContext, fullName: string, ownerType: "Organization" | "User"): Record<string, unknown> {
  const [owner = "", name = ""] = fullName.split("/");
  const id = stableId(fullName);
  const api = `${ctx.origin}/api/v3/repos/${fullName}`;
  const web = `${ctx.origin}/${fullName}`;
  const host = new URL(ctx.origin).host;
  const created = isoSeconds(Date.UTC(2024, 0, 2));
  return {
    id, node_id: nodeId("010:Repository", id), name, full_name: fullName, private: false,
    owner: simpleUser(ctx.origin, accountId(ctx.state, owner), owner, ownerType),
    html_url: web, description: null, fork: false, url: api,
    archive_url: `${api}/{archive_format}{/ref}`, assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`, branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`, comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`, compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`, contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`, downloads_url: `${api}/downloads`, events_url: `${api}/events`,
    forks_url: `${api}/forks`, git_commits_url: `${api}/git/commits{/sha}`, git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`, git_url: `git://${host}/${fullName}.git`,
    issue_comment_url: `${api}/issues/comments{/number}`, issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`, keys_url: `${api}/keys{/key_id}`, labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`, merges_url: `${api}/merges`, milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`, pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`, ssh_url: `git@${host}:${fullName}.git`, stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`, subscribers_url: `${api}/subscribers`, subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`, teams_url: `${api}/teams`, trees_url: `${api}/git/trees{/sha}`,
    clone_url: `${web}.git`, mirror_url: null, hooks_url: `${api}/hooks`, svn_url: web, homepage: null,
    language: null, forks_count: 0, stargazers_count: 0, watchers_count: 0, size: 0, default_branch: "main",
    open_issues_count: 0, is_template: false, topics: [], has_issues: true, has_projects: true, has_wiki: true,
    has_pages: false, has_downloads: true, has_discussions: false, archived: false, disabled: false,
    visibility: "public", pushed_at: created, created_at: created, updated_at: created,
    allow_forking: true, web_commit_signoff_required: false, forks: 0, open_issues: 0, watchers: 0,
    license: null,
  };
}

/** The keys GitHub's `minimal-repository` (in workflow runs) carries, as its examples show. */
const MINIMAL_REPOSITORY_KEYS = [
  "id", "node_id", "name", "full_name", "owner", "private", "html_url", "description", "fork", "url",
  "archive_url", "assignees_url", "blobs_url", "branches_url", "collaborators_url", "comments_url",
  "commits_url", "compare_url", "contents_url", "contributors_url", "deployments_url", "downloads_url",
  "events_url", "forks_url", "git_commits_url", "git_refs_url", "git_tags_url", "git_url",
  "issue_comment_url", "issue_events_url", "issues_url", "keys_url", "labels_url", "languages_url",
  "merges_url", "milestones_url", "notifications_url", "pulls_url", "releases_url", "ssh_url",
  "stargazers_url", "statuses_url", "subscribers_url", "subscription_url", "tags_url", "teams_url",
  "trees_url", "hooks_url",
] as const;

/** components/schemas/minimal-repository, as a workflow run's `repository` and `head_repository`. */
export function minimalRepository(ctx: PayloadContext, fullName: string, ownerType: "Organization" | "User"): Record<string, unknown> {
  const full = webhookRepository(ctx, fullName, ownerType);
  return Object.fromEntries(MINIMAL_REPOSITORY_KEYS.map((key) => [key, full[key]]));
}

function steps(job: JobRecord, action: JobAction): Record<string, unknown>[] {
  const at = (ms: number | null) => (ms === null ? null : isoSeconds(ms));
  if (action === "queued" || job.startedAt === null) return [];
  if (action === "in_progress") {
    return [{ name: "Set up job", status: "in_progress", conclusion: null, number: 1, started_at: at(job.startedAt), completed_at: null }];
  }
  return [
    { name: "Set up job", status: "completed", conclusion: "success", number: 1, started_at: at(job.startedAt), completed_at: at(job.startedAt) },
    { name: "Run script", status: "completed", conclusion: job.conclusion, number: 2, started_at: at(job.startedAt), completed_at: at(job.completedAt) },
    { name: "Complete job", status: "completed", conclusion: "success", number: 3, started_at: at(job.completedAt), completed_at: at(job.completedAt) },
  ];
}

/** The runner group of the job's runner: its org group, or "Default" (1) for repository runners. */
function runnerGroup(ctx: PayloadContext, job: JobRecord): { id: number; name: string } | null {
  const runner = job.runnerId === null ? undefined : ctx.state.runners.get(job.runnerId);
  if (runner === undefined) return null;
  if (!("org" in runner.scope)) return { id: 1, name: "Default" };
  const group = runnerGroupsOf(ctx.state, runner.scope.org).find((g) => g.id === runner.groupId);
  return { id: runner.groupId, name: group?.name ?? "Default" };
}

/**
 * The `workflow_job` object as of `action` (the job record is read at the moment of the
 * transition); with `action` = the job's status it is also the REST `job` object.
 */
export function workflowJob(ctx: PayloadContext, job: JobRecord, action: JobAction): Record<string, unknown> {
  const api = `${ctx.origin}/api/v3/repos/${job.repository}`;
  const queuedAt = isoSeconds(job.queuedAt);
  // GitHub reports runner fields only once a runner took the job (null while queued).
  const ran = action !== "queued" && job.runnerId !== null;
  const group = ran ? runnerGroup(ctx, job) : null;
  return {
    id: job.id, run_id: job.runId, workflow_name: job.workflowName, head_branch: job.headBranch,
    run_url: `${api}/actions/runs/${job.runId}`, run_attempt: job.runAttempt, node_id: nodeId("08:CheckRun", job.id),
    head_sha: job.headSha, url: `${api}/actions/jobs/${job.id}`,
    html_url: `${ctx.origin}/${job.repository}/actions/runs/${job.runId}/job/${job.id}`,
    status: action, conclusion: action === "completed" ? job.conclusion : null,
    created_at: queuedAt,
    // A queued job's started_at is its creation time on GitHub too.
    started_at: action === "queued" || job.startedAt === null ? queuedAt : isoSeconds(job.startedAt),
    completed_at: action === "completed" && job.completedAt !== null ? isoSeconds(job.completedAt) : null,
    name: job.name, steps: steps(job, action), check_run_url: `${api}/check-runs/${job.id}`,
    labels: [...job.labels],
    runner_id: ran ? job.runnerId : null, runner_name: ran ? job.runnerName : null,
    runner_group_id: group?.id ?? null, runner_group_name: group?.name ?? null,
  };
}

export interface WorkflowJobDelivery {
  payload: Record<string, unknown>;
  /** `X-GitHub-Hook-Installation-Target-Type` / `-Id` of a repository or org hook (an app hook overrides them). */
  target: { type: "repository" | "organization"; id: number };
}

/** A `workflow_job` payload; `installation` is included for an app's hook. */
export function workflowJobPayload(ctx: PayloadContext, job: JobRecord, action: JobAction, installation?: InstallationRecord): WorkflowJobDelivery {
  const owner = job.repository.split("/")[0] ?? "";
  const isOrg = ownerIsOrg(ctx.state, job, owner);
  const repository = webhookRepository(ctx, job.repository, isOrg ? "Organization" : "User");
  const payload: Record<string, unknown> = {
    action,
    workflow_job: workflowJob(ctx, job, action),
    repository,
    sender: simpleUser(ctx.origin, accountId(ctx.state, SENDER_LOGIN), SENDER_LOGIN, "User"),
  };
  if (isOrg) payload.organization = webhookOrganization(ctx, owner);
  if (installation !== undefined) payload.installation = { id: installation.id, node_id: nodeId("023:Installation", installation.id) };
  const target = "org" in job.scope
    ? { type: "organization" as const, id: accountId(ctx.state, owner) }
    : { type: "repository" as const, id: repository.id as number };
  return { payload, target };
}

/** The installation an app's hook speaks for, for a job of `repository`; undefined: not installed there. */
export function installationFor(state: EmulatorState, appId: number, repository: string): InstallationRecord | undefined {
  return findInstallation(state, appId, repository.split("/")[0] ?? "");
}

/** The `ping` GitHub sends when a hook is created. */
export function pingPayload(ctx: PayloadContext, hook: { id: number; url: string; events: readonly string[]; createdAt: number; appId?: number }): Record<string, unknown> {
  const at = isoSeconds(hook.createdAt);
  const api = `${ctx.origin}/api/v3/hooks/${hook.id}`;
  const webhook: Record<string, unknown> = {
    type: hook.appId === undefined ? "Repository" : "App", id: hook.id, name: "web", active: true, events: [...hook.events],
    config: { content_type: "json", insecure_ssl: "0", url: hook.url },
    created_at: at, updated_at: at, deliveries_url: `${api}/deliveries`, ping_url: `${api}/pings`,
  };
  if (hook.appId !== undefined) webhook.app_id = hook.appId;
  return {
    zen: "Design for failure.",
    hook_id: hook.id,
    hook: webhook,
    sender: simpleUser(ctx.origin, accountId(ctx.state, SENDER_LOGIN), SENDER_LOGIN, "User"),
  };
}
