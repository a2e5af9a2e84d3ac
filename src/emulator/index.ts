// The GitHub emulator's facade: start the server, and the helpers tests use to drive and inspect it.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { adminRoutes } from "./admin-api.js";
import { appInfo, appRoutes, createApp, expireInstallationTokens, installApp, installationTokensIssued } from "./apps.js";
import { createFaultList, type FaultList } from "./faults.js";
import { cancelJob, dispatchJobs, enqueueJob, snapshotJob, waitForJobs, waitUntil } from "./job-queue.js";
import { encodeJitConfig } from "./jit-config.js";
import { createOidcIssuer } from "./oidc-issuer.js";
import type { EmulatorOidc, OidcIssuer } from "./oidc-issuer.js";
import { loadSchemaCatalog } from "./openapi-validator.js";
import { rateLimitRoutes, rateLimitStatus, setRateLimit } from "./rate-limits.js";
import { restRoutes } from "./rest-api.js";
import { DEFAULT_RUNNER_VERSION, defaultRunnerApplications } from "./runner-downloads.js";
import { INITIAL_RELEASE_AGE_MS, findRelease, publishRunnerRelease, releaseRoutes, snapshotRelease } from "./runner-releases.js";
import { deleteRunner, registerRunner, runnerStatus, snapshotRunner } from "./runner-registry.js";
import { runnerControlApi, type RunnerControl } from "./runner-control.js";
import { runnerRoutes } from "./runner-protocol.js";
import { createRequestHandler } from "./server.js";
import { addRunnerGroup, createState, randomToken, type EmulatorState } from "./state.js";
import { expireAllTokens, mintToken } from "./tokens.js";
import { createWebhookSender, type WebhookSender } from "./webhooks.js";
import { workflowRunRoutes } from "./workflow-runs.js";
import type {
  ApiCall, AppGrant, AppInfo, RateLimitStatus,
  EmulatorOptions, FaultSpec, JitConfigGrant, JobInput, JobRecord, JobSelector, RunnerGroup,
  RunnerApplication, RunnerRecord, RunnerReleaseInfo, RunnerStatus, Scope, TokenGrant, Violation,
  RawWebhookInput, WebhookDelivery, WebhookInput,
} from "./types.js";

export type * from "./types.js";
export type { RunnerControl } from "./runner-control.js";
export type { ActionsOidcClaims, EmulatorOidc, OidcMintOptions } from "./oidc-issuer.js";
export { DEFAULT_RUNNER_VERSION } from "./runner-downloads.js";
export { signature as webhookSignature } from "./webhooks.js";

export interface GitHubEmulator extends RunnerControl {
  /** `http://127.0.0.1:<port>`; runner URLs are `${url}/owner/repo` or `${url}/org`. */
  readonly url: string;
  /** `${url}/api/v3`, the GHES-style API base the fake runner derives from a runner URL. */
  readonly apiUrl: string;
  readonly port: number;
  /** A PAT the REST API accepts from the start. */
  readonly pat: string;
  /** The latest runner release's version: what `releases/latest` and the downloads API describe. */
  readonly runnerVersion: string;
  /** Schema mismatches seen so far; tests should expect this to stay empty. */
  readonly violations: Violation[];
  /** GitHub Actions' OIDC issuer at `${url}/_services/token`: discovery, JWKS, mint(). */
  readonly oidc: EmulatorOidc;
  /** With `expiresAt`, answers carry `github-authentication-token-expiration`; after it, 401. */
  addPat(pat: string, opts?: { expiresAt?: Date }): void;
  /** A GitHub App with a fresh RSA key (PKCS#1 PEM). `permissions` default to runner administration and `actions: read`. */
  createApp(opts?: { slug?: string; owner?: string; permissions?: Record<string, "read" | "write"> }): AppGrant;
  /** Installs an app on an account (all its repositories); returns the installation id. */
  installApp(appId: number, account: string, opts?: { type?: "Organization" | "User" }): { id: number };
  apps(): AppInfo[];
  /** Installation access tokens issued so far, for one app or all. */
  installationTokensIssued(appId?: number): number;
  /** Expires every installation token issued so far (of one app or all): they answer 401 from now on. */
  expireInstallationTokens(appId?: number): void;
  /**
   * Sets a credential's core window: a PAT, an installation token (its installation's window),
   * `installation:<id>`, `app:<id>` or `unauthenticated`. `resetInSeconds` moves the window's end.
   */
  setRateLimit(credential: string, opts: { remaining: number; resetInSeconds?: number }): void;
  rateLimit(credential: string): RateLimitStatus;
  /** REST calls (not the runner protocol, downloads or admin API), oldest first. */
  apiCalls(): ApiCall[];
  clearApiCalls(): void;
  mintRegistrationToken(scope: Scope, opts?: { expiresInSeconds?: number }): TokenGrant;
  mintRemoveToken(scope: Scope, opts?: { expiresInSeconds?: number }): TokenGrant;
  /** Same as the REST generate-jitconfig call, without auth. */
  mintJitConfig(scope: Scope, opts: { name: string; labels: string[]; runnerGroupId?: number; workFolder?: string }): JitConfigGrant;
  expireRegistrationTokens(): void;
  addRunnerGroup(org: string, name: string): RunnerGroup;
  /** Overrides the downloads API's list; null goes back to describing the latest release. */
  setRunnerApplications(apps: RunnerApplication[] | null): void;
  /**
   * Packs the fake runner as `version` and publishes it as actions/runner release `v<version>`.
   * The release with the newest `publishedAt` (default now) is the latest, which the downloads API
   * describes. Rejects for a version that is not `x.y.z` or is published already.
   */
  publishRunnerRelease(version: string, publishedAt?: Date): Promise<RunnerReleaseInfo>;
  /** Newest first; the first is what `releases/latest` answers. */
  runnerReleases(): RunnerReleaseInfo[];
  /** The sha256 of a published version's tarball (the same for every arch), else undefined. */
  runnerReleaseSha256(version: string): string | undefined;
  failNext(spec: FaultSpec): void;
  clearFaults(): void;
  /** Sends `workflow_job` events for it (queued now; in_progress and completed later) to every hook. */
  enqueueJob(input: JobInput): JobRecord;
  /** Cancels a queued job no runner took yet: it completes with conclusion `cancelled`. */
  cancelJob(id: number): void;
  /**
   * A webhook receiving `workflow_job` deliveries (and, unless `ping: false`, a `ping` now, as
   * GitHub sends on creation). Returns the hook id (`X-GitHub-Hook-ID`).
   */
  addWebhook(input: WebhookInput & { ping?: boolean }): number;
  removeWebhook(hookId: number): void;
  /** Every delivery so far, oldest first; `status` null while pending, 0 for a network error. */
  webhookDeliveries(): WebhookDelivery[];
  /** Sends a delivery again: same `X-GitHub-Delivery` and body (a duplicate, as GitHub's redeliver). */
  redeliver(deliveryId: string): void;
  /** Holds deliveries (still built at each transition) until resumeWebhooks. */
  pauseWebhooks(): void;
  /** Sends what was held, oldest first or (`reverse`) newest first, then goes on as usual. */
  resumeWebhooks(opts?: { order?: "fifo" | "reverse" }): void;
  /** Resolves once every delivery not held by pauseWebhooks has been answered. */
  webhooksIdle(): Promise<void>;
  /** Posts a hand-made body (unsigned unless `signWith`) to a hook's URL; not recorded as a delivery. */
  sendRawWebhook(input: RawWebhookInput): Promise<{ status: number; body: string; deliveryId: string }>;
  jobs(): JobRecord[];
  job(id: number): JobRecord | undefined;
  /** Resolves with the selected jobs once all completed; a filter must match at least one job. */
  waitForJobs(select: JobSelector, timeoutMs: number): Promise<JobRecord[]>;
  /** Resolves once `check` holds, re-checked on every state change (registrations, sessions, jobs). */
  waitUntil(check: () => boolean, timeoutMs: number, what?: string): Promise<void>;
  /** Live registrations across all scopes. */
  runners(): RunnerRecord[];
  /** Every registration ever made, deleted ones included (`deletedAt` set). */
  runnerHistory(): RunnerRecord[];
  runnerStatus(id: number): RunnerStatus | undefined;
  deleteRunner(id: number): void;
  close(): Promise<void>;
}

export async function startGitHubEmulator(opts: EmulatorOptions = {}): Promise<GitHubEmulator> {
  const version = opts.runnerVersion ?? DEFAULT_RUNNER_VERSION;
  const state = createState({ longPollMs: opts.longPollMs ?? 20_000, assignTimeoutMs: opts.assignTimeoutMs ?? 60_000, runnerVersion: version });
  const [catalog] = await Promise.all([
    opts.validate === false ? null : loadSchemaCatalog(),
    publishRunnerRelease(state, version, new Date(state.now() - INITIAL_RELEASE_AGE_MS)),
  ]);
  const faults = createFaultList();
  const violations: Violation[] = [];
  let applications = opts.runnerApplications ?? null;
  const runnerApplications = (origin: string): RunnerApplication[] => {
    if (applications === null) {
      const latest = state.releases[0];
      return latest === undefined ? [] : defaultRunnerApplications(origin, latest.version, latest.tarball?.sha256);
    }
    return typeof applications === "function" ? applications(origin) : applications;
  };
  const pat = randomToken("ghp_", 18);
  state.pats.add(pat);

  const oidc = createOidcIssuer();
  const webhooks = createWebhookSender({
    state, violations,
    // `url` is set once the server listens, before any job or hook can exist.
    origin: () => url,
    check: catalog === null ? null : (name, payload) => catalog.webhook(name)(payload),
  });
  const parts: ApiParts = {
    state, pat, violations, oidc, faults, webhooks,
    origin: () => url,
    setRunnerApplications: (apps) => {
      applications = apps;
    },
  };
  const emulator: EmulatorApi = { ...accountApi(parts), ...workApi(parts), ...runnerControlApi(state) };

  const server = createServer(createRequestHandler({
    state, faults, catalog, violations, runnerApplications,
    routes: [...restRoutes, ...workflowRunRoutes, ...appRoutes, ...rateLimitRoutes, ...releaseRoutes, ...runnerRoutes, ...oidc.routes],
    adminRoutes: adminRoutes(emulator),
  }));
  const host = opts.host ?? "127.0.0.1";
  const port = await listen(server, host, opts.port ?? 0);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  oidc.setBaseUrl(url);

  return {
    ...emulator,
    url,
    apiUrl: `${url}/api/v3`,
    port,
    // A getter, so it follows publishRunnerRelease (a spread would copy the value once).
    get runnerVersion() {
      return state.releases[0]?.version ?? version;
    },
    async close() {
      webhooks.close();
      for (const waiter of [...state.waiters.values()]) waiter.answer("timeout");
      for (const timer of state.timers) clearTimeout(timer);
      state.timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

type EmulatorApi = Omit<GitHubEmulator, "url" | "apiUrl" | "port" | "runnerVersion" | "close">;

interface ApiParts {
  state: EmulatorState;
  pat: string;
  violations: Violation[];
  oidc: OidcIssuer;
  faults: FaultList;
  webhooks: WebhookSender;
  /** The emulator's URL, known once it listens. */
  origin(): string;
  setRunnerApplications(apps: RunnerApplication[] | null): void;
}

/** Credentials, apps, rate limits, registration tokens and JIT configs. */
function accountApi({ state, pat, violations, oidc, origin }: ApiParts) {
  return {
    pat,
    violations,
    oidc: oidc.api,
    addPat: (value, o) => {
      state.pats.add(value);
      if (o?.expiresAt === undefined) state.patExpiry.delete(value);
      else state.patExpiry.set(value, o.expiresAt.getTime());
    },
    createApp: (o) => createApp(state, o),
    installApp: (appId, account, o) => installApp(state, appId, account, o?.type),
    apps: () => [...state.apps.values()].map((app) => appInfo(state, app)),
    installationTokensIssued: (appId) => installationTokensIssued(state, appId),
    expireInstallationTokens: (appId) => expireInstallationTokens(state, appId),
    setRateLimit: (credential, o) => setRateLimit(state, credential, o),
    rateLimit: (credential) => rateLimitStatus(state, credential),
    apiCalls: () => state.apiCalls.map((call) => ({ ...call })),
    clearApiCalls: () => {
      state.apiCalls.length = 0;
    },
    mintRegistrationToken: (scope, o) => mintToken(state, scope, "registration", o?.expiresInSeconds),
    mintRemoveToken: (scope, o) => mintToken(state, scope, "remove", o?.expiresInSeconds),
    mintJitConfig(scope, o) {
      const runner = registerRunner(state, {
        scope, name: o.name, labels: o.labels, ephemeral: true, disableUpdate: false, replace: false, groupId: o.runnerGroupId, jit: true,
      });
      return { runner: snapshotRunner(runner), encoded_jit_config: encodeJitConfig(runner, origin(), o.workFolder ?? "_work") };
    },
    expireRegistrationTokens: () => expireAllTokens(state),
    addRunnerGroup: (org, name) => ({ ...addRunnerGroup(state, org, name) }),
  } satisfies Partial<EmulatorApi>;
}

/** Runner releases, faults, jobs, webhooks and registrations. */
function workApi({ state, faults, webhooks, setRunnerApplications }: ApiParts) {
  const history = (): RunnerRecord[] => [...state.runners.values()].map(snapshotRunner);
  return {
    setRunnerApplications,
    publishRunnerRelease: async (v, publishedAt) => snapshotRelease(await publishRunnerRelease(state, v, publishedAt)),
    runnerReleases: () => state.releases.map(snapshotRelease),
    runnerReleaseSha256: (v) => findRelease(state, v)?.tarball?.sha256,
    failNext: (spec) => faults.arm(spec),
    clearFaults: () => faults.clear(),
    enqueueJob: (input) => snapshotJob(enqueueJob(state, input)),
    cancelJob: (id) => cancelJob(state, id),
    addWebhook: (input) => webhooks.add(input),
    removeWebhook: (hookId) => webhooks.remove(hookId),
    webhookDeliveries: () => webhooks.deliveries(),
    redeliver: (deliveryId) => webhooks.redeliver(deliveryId),
    pauseWebhooks: () => webhooks.pause(),
    resumeWebhooks: (o) => webhooks.resume(o),
    webhooksIdle: () => webhooks.idle(),
    sendRawWebhook: (input) => webhooks.sendRaw(input),
    jobs: () => [...state.jobs.values()].map(snapshotJob),
    job: (id) => {
      const job = state.jobs.get(id);
      return job === undefined ? undefined : snapshotJob(job);
    },
    waitForJobs: (select, timeoutMs) => waitForJobs(state, select, timeoutMs),
    waitUntil: (check, timeoutMs, what) => waitUntil(state, check, timeoutMs, what),
    runners: () => history().filter((r) => r.deletedAt === null),
    runnerHistory: history,
    runnerStatus: (id) => {
      const runner = state.runners.get(id);
      return runner === undefined ? undefined : runnerStatus(state, runner);
    },
    deleteRunner: (id) => {
      deleteRunner(state, id);
      dispatchJobs(state);
    },
  } satisfies Partial<EmulatorApi>;
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  // Long polls outlive Node's default request timeout when tests raise longPollMs.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
