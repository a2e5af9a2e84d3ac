// The GitHub calls runnerd makes for one connection with a credential (app or pat): JIT runner
// configs, runner deletion and listing, runner groups, rate limits. An app finds its
// installation per scope and uses installation tokens, which @octokit/auth-app caches and renews.
import { createAppAuth } from "@octokit/auth-app";
import type { Logger } from "pino";
import { scopeKey, type ScopeRef } from "../config/index.js";
import { gitHubError } from "./errors.js";
import { createOctokit, type GitHubOctokit, type OctokitSettings } from "./octokit.js";
import { listedJob, listQueuedJobs, type ListedJob, type ListingBounds, type QueuedJobsListing } from "./queued-jobs.js";
import { RateLimitTracker } from "./rate-limits.js";

export type { ListedJob, ListingBounds, QueuedJobsListing } from "./queued-jobs.js";

export type GitHubCredential = { type: "pat"; token: string } | { type: "app"; appId: number; privateKey: string };

export interface JitConfig {
  runnerId: number;
  encodedJitConfig: string;
}

export interface RegisteredRunner {
  id: number;
  name: string;
  status: string;
  busy: boolean;
  labels: string[];
}

export interface ConnectionClientOptions {
  apiUrl: string;
  logger: Logger;
  now?: () => number;
  timeoutMs?: number;
}

/** Installation ids and runner group ids change rarely; look them up again after this long. */
const lookupTtlMs = 60 * 60_000;

const permissionHint = {
  401: "the credential is invalid, revoked or expired",
  403: "the credential lacks permission: repository runners need Administration read/write, organisation runners Self-hosted runners read/write",
  404: "no such repository or organisation, or the credential cannot see it",
};

export class ConnectionClient {
  readonly tracker: RateLimitTracker;
  private readonly settings: OctokitSettings;
  private readonly now: () => number;
  private readonly pat: GitHubOctokit | undefined;
  private readonly app: GitHubOctokit | undefined;
  private readonly installations = new Map<number, GitHubOctokit>();
  private readonly installationIds = new Map<string, { id: number; at: number }>();
  private readonly groupIds = new Map<string, { id: number; at: number }>();

  constructor(
    private readonly credential: GitHubCredential,
    options: ConnectionClientOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.tracker = new RateLimitTracker(this.now);
    this.settings = { apiUrl: options.apiUrl, logger: options.logger, tracker: this.tracker, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) };
    if (credential.type === "pat") this.pat = createOctokit(this.settings, "pat", { auth: credential.token });
    else this.app = createOctokit(this.settings, "app", { authStrategy: createAppAuth, auth: { appId: credential.appId, privateKey: credential.privateKey } });
  }

  get kind(): "app" | "pat" {
    return this.credential.type;
  }

  /** The Octokit that acts on `scope`: the PAT's, or the app installation's that covers it. */
  async forScope(scope: ScopeRef): Promise<GitHubOctokit> {
    if (this.pat) return this.pat;
    const id = await this.installationId(scope);
    let octokit = this.installations.get(id);
    if (!octokit && this.credential.type === "app") {
      octokit = createOctokit(this.settings, `installation:${id}`, {
        authStrategy: createAppAuth,
        auth: { appId: this.credential.appId, privateKey: this.credential.privateKey, installationId: id },
      });
      this.installations.set(id, octokit);
    }
    if (!octokit) throw new Error("unreachable: no Octokit for an app installation");
    return octokit;
  }

  async installationId(scope: ScopeRef): Promise<number> {
    const key = scopeKey(scope);
    const cached = this.installationIds.get(key);
    if (cached && this.now() - cached.at < lookupTtlMs) return cached.id;
    if (!this.app || this.credential.type !== "app") throw new Error("installationId: not an app connection");
    const appId = this.credential.appId;
    try {
      const { data } = scope.type === "repo"
        ? await this.app.rest.apps.getRepoInstallation(splitRepo(scope.repo))
        : await this.app.rest.apps.getOrgInstallation({ org: scope.org });
      this.installationIds.set(key, { id: data.id, at: this.now() });
      return data.id;
    } catch (err) {
      throw gitHubError(err, `find the installation of app ${appId} for ${key}`, {
        401: "the app id or private key is wrong (GitHub could not verify the app's JWT)",
        404: `app ${appId} is not installed on ${scope.type === "repo" ? scope.repo : scope.org}; install it there`,
      });
    }
  }

  /** A just-in-time runner config: one runner, one job, no reusable token. */
  async generateJitConfig(scope: ScopeRef, input: { name: string; labels: string[]; runnerGroupId: number; workFolder?: string }): Promise<JitConfig> {
    const body = { name: input.name, labels: input.labels, runner_group_id: input.runnerGroupId, work_folder: input.workFolder ?? "_work" };
    try {
      const octokit = await this.forScope(scope);
      const { data } = scope.type === "repo"
        ? await octokit.rest.actions.generateRunnerJitconfigForRepo({ ...splitRepo(scope.repo), ...body })
        : await octokit.rest.actions.generateRunnerJitconfigForOrg({ org: scope.org, ...body });
      return { runnerId: data.runner.id, encodedJitConfig: data.encoded_jit_config };
    } catch (err) {
      this.forgetOn404(scope, err);
      throw gitHubError(err, `create a JIT runner config for ${scopeKey(scope)}`, { ...permissionHint, 409: `a runner named ${input.name} exists already` });
    }
  }

  /**
   * Deletes a registration; one that is gone already (404) counts as deleted. GitHub refuses to
   * delete a runner that runs a job: `actions/delete-self-hosted-runner-from-{repo,org}` answers
   * 422 (OpenAPI `validation_failed_simple`, "Runner ... is still running a job"), returned as
   * `busy` so the caller can keep the runner: the delete is the atomic "is it still idle?" check.
   */
  async deleteRegistration(scope: ScopeRef, runnerId: number): Promise<"deleted" | "gone" | "busy"> {
    try {
      const octokit = await this.forScope(scope);
      if (scope.type === "repo") await octokit.rest.actions.deleteSelfHostedRunnerFromRepo({ ...splitRepo(scope.repo), runner_id: runnerId });
      else await octokit.rest.actions.deleteSelfHostedRunnerFromOrg({ org: scope.org, runner_id: runnerId });
      return "deleted";
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404) return "gone";
      if (status === 422) return "busy";
      throw gitHubError(err, `delete runner ${runnerId} of ${scopeKey(scope)}`, permissionHint);
    }
  }

  /** Every registration of the scope (all pages). */
  async listRunners(scope: ScopeRef): Promise<RegisteredRunner[]> {
    try {
      const octokit = await this.forScope(scope);
      const runners = scope.type === "repo"
        ? await octokit.paginate(octokit.rest.actions.listSelfHostedRunnersForRepo, { ...splitRepo(scope.repo), per_page: 100 })
        : await octokit.paginate(octokit.rest.actions.listSelfHostedRunnersForOrg, { org: scope.org, per_page: 100 });
      return runners.map((r) => ({ id: r.id, name: r.name, status: r.status, busy: r.busy, labels: r.labels.map((l) => l.name) }));
    } catch (err) {
      throw gitHubError(err, `list the runners of ${scopeKey(scope)}`, permissionHint);
    }
  }

  /** The id of an organisation's runner group, by name (case-insensitive); cached. */
  async runnerGroupId(org: string, name: string): Promise<number> {
    const key = `${org.toLowerCase()}/${name.toLowerCase()}`;
    const cached = this.groupIds.get(key);
    if (cached && this.now() - cached.at < lookupTtlMs) return cached.id;
    let groups: { id: number; name: string }[];
    try {
      const octokit = await this.forScope({ type: "org", org });
      // Not in @octokit/rest's method list; the route is GitHub's documented one.
      groups = (await octokit.paginate("GET /orgs/{org}/actions/runner-groups", { org, per_page: 100 })) as { id: number; name: string }[];
    } catch (err) {
      throw gitHubError(err, `list the runner groups of org ${org}`, permissionHint);
    }
    const group = groups.find((g) => g.name.toLowerCase() === name.toLowerCase());
    if (!group) throw gitHubError(new Error(`org ${org} has no runner group named "${name}" (groups: ${groups.map((g) => g.name).join(", ") || "none"})`), `find runner group "${name}"`);
    this.groupIds.set(key, { id: group.id, at: this.now() });
    return group.id;
  }

  /** Queued jobs of the repository's queued and in-progress workflow runs (latest attempt), within `bounds` (queued-jobs.ts). */
  async listQueuedJobs(repository: string, bounds?: ListingBounds): Promise<QueuedJobsListing> {
    try {
      const octokit = await this.forScope({ type: "repo", repo: repository });
      return await listQueuedJobs(octokit, splitRepo(repository), bounds);
    } catch (err) {
      throw gitHubError(err, `list the queued jobs of ${repository}`, { ...permissionHint, 403: "the credential lacks Actions: read on the repository" });
    }
  }

  /** One job, to learn what became of a job whose later webhooks never came. */
  async getJob(repository: string, jobId: number): Promise<ListedJob | null> {
    try {
      const octokit = await this.forScope({ type: "repo", repo: repository });
      const { data } = await octokit.rest.actions.getJobForWorkflowRun({ ...splitRepo(repository), job_id: jobId });
      return listedJob(data);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw gitHubError(err, `read job ${jobId} of ${repository}`, permissionHint);
    }
  }

  /** GitHub's own account of the budget (`GET /rate_limit` costs nothing against it). */
  async rateLimit(scope?: ScopeRef): Promise<{ limit: number; remaining: number; resetAt: number }> {
    try {
      const octokit = scope ? await this.forScope(scope) : this.pat ?? this.app;
      if (!octokit) throw new Error("no credential");
      const { data } = await octokit.rest.rateLimit.get();
      return { limit: data.resources.core.limit, remaining: data.resources.core.remaining, resetAt: data.resources.core.reset * 1000 };
    } catch (err) {
      throw gitHubError(err, "read the rate limit", permissionHint);
    }
  }

  /** An app's own identity (`GET /app`), proving the id and key match. */
  async appName(): Promise<string> {
    if (!this.app) throw new Error("appName: not an app connection");
    try {
      const { data } = await this.app.rest.apps.getAuthenticated();
      return data?.name ?? data?.slug ?? "?";
    } catch (err) {
      throw gitHubError(err, "authenticate as the app", { 401: "the app id or private key is wrong" });
    }
  }

  /** An installation that vanished (app uninstalled and reinstalled) must be looked up again. */
  private forgetOn404(scope: ScopeRef, err: unknown): void {
    const status = (err as { status?: number }).status;
    if (status === 404 || status === 401) this.installationIds.delete(scopeKey(scope));
  }
}

function splitRepo(repo: string): { owner: string; repo: string } {
  const [owner = "", name = ""] = repo.split("/");
  return { owner, repo: name };
}
