// The emulator's public data shapes: scopes, runner registrations, jobs, faults and options.

/** Where a runner registers or a job runs: a repository (`owner/name`) or an organisation. */
export type Scope = { repo: string } | { org: string };

export interface RunnerLabel {
  id: number;
  name: string;
  type: "read-only" | "custom";
}

/** One runner registration, as the emulator keeps it (a superset of the REST `runner`). */
export interface RunnerRecord {
  id: number;
  name: string;
  scope: Scope;
  labels: RunnerLabel[];
  ephemeral: boolean;
  disableUpdate: boolean;
  groupId: number;
  /** Secret the fake runner sends as `Authorization: Bearer` on the runner protocol. */
  credential: string;
  os: string;
  version: string | null;
  busy: boolean;
  /** Registered through generate-jitconfig rather than config.sh. */
  jit: boolean;
  registeredAt: number;
  /** Last time a session was opened (`POST /_runner/sessions`), ms since the epoch. */
  listeningAt: number | null;
  lastPollAt: number | null;
  /** The open session's id; null before the first and after the listener deleted it. */
  session: string | null;
  /** Sessions opened so far: a listener that restarted (a self-update, a retry) opens another. */
  sessions: number;
  deletedAt: number | null;
  /** Every job ever assigned to this runner, in order. */
  jobIds: number[];
}

export type RunnerStatus = "online" | "offline";

export type JobStatus = "queued" | "in_progress" | "completed";
export type JobConclusion = "success" | "failure" | "cancelled" | null;

export interface JobRecord {
  id: number;
  name: string;
  scope: Scope;
  /** `owner/name`; for an org-scoped job `<org>/<org>` unless given. */
  repository: string;
  /** The workflow run the job belongs to; jobs enqueued with the same `runId` share a run. */
  runId: number;
  runAttempt: number;
  workflowName: string;
  headBranch: string;
  headSha: string;
  labels: string[];
  script: string;
  status: JobStatus;
  conclusion: JobConclusion;
  exitCode: number | null;
  runnerId: number | null;
  runnerName: string | null;
  queuedAt: number;
  assignedAt: number | null;
  startedAt: number | null;
  completedAt: number | null;
  /** How many times an assignment timed out and the job went back to the queue. */
  requeues: number;
  log: string;
}

export interface JobInput {
  scope: Scope;
  labels: string[];
  script: string;
  name?: string;
  repository?: string;
  /** Default "CI". */
  workflowName?: string;
  /** Default: a new run per job. */
  runId?: number;
  /** Default "main". */
  headBranch?: string;
}

export interface FaultSpec {
  /** A string matches when the request path contains it. */
  path?: RegExp | string;
  method?: string;
  /** Answer with this status instead of handling the request; omit to only delay or tamper. */
  status?: number;
  times?: number;
  retryAfter?: number;
  delayMs?: number;
  /** Rewrite the handler's JSON body before validation, to prove drift is caught. */
  mutateBody?: (body: unknown) => unknown;
}

/**
 * Something the runner side of GitHub does to one listener (see runner-control.ts): a session
 * another listener holds, a message the listener cannot process, a configuration refresh, a job
 * gone by the time the listener acknowledges it, an OAuth token revoked.
 */
export interface RunnerFaultSpec {
  kind: "session-conflict" | "retryable-error" | "config-refresh" | "job-gone" | "token-revoked";
  /** Only runners whose name starts with this; default the next runner it applies to. */
  namePrefix?: string;
  /** How many answers it changes; default: a session conflict lasts, the others once. */
  times?: number;
  /** Session conflict: the retry interval and limit the fake runner uses (actions/runner: 30 s, 240 s). */
  retryIntervalSeconds?: number;
  retryLimitSeconds?: number;
}

export interface Violation {
  at: number;
  method: string;
  path: string;
  operationId: string;
  /** `webhook`: a payload the emulator sent (operationId is the `x-webhooks` key). */
  direction: "request" | "response" | "webhook";
  status?: number;
  errors: string;
}

export interface RunnerApplication {
  os: string;
  architecture: string;
  download_url: string;
  filename: string;
  sha256_checksum?: string;
  temp_download_token?: string;
}

/** An actions/runner release the emulator serves (`GET /repos/actions/runner/releases...`). */
export interface RunnerReleaseInfo {
  version: string;
  /** `v<version>` */
  tag: string;
  /** ms since the epoch */
  publishedAt: number;
  /** Of every asset's tarball (the fake runner is the same for each arch); null if tar failed. */
  sha256: string | null;
  /** Downloads through `/_downloads/`, per asset file name. */
  downloads: Record<string, number>;
}

export interface RunnerGroup {
  id: number;
  name: string;
  default: boolean;
}

export interface EmulatorOptions {
  port?: number;
  host?: string;
  validate?: boolean;
  longPollMs?: number;
  assignTimeoutMs?: number;
  /** Replaces the default runner-application list (a function gets the emulator URL). */
  runnerApplications?: RunnerApplication[] | ((baseUrl: string) => RunnerApplication[]);
  /** The version of the one runner release there is at the start (published a week ago). */
  runnerVersion?: string;
}

export interface TokenGrant {
  token: string;
  expires_at: string;
}

export interface JitConfigGrant {
  runner: RunnerRecord;
  encoded_jit_config: string;
}

export type JobSelector = readonly number[] | ((job: JobRecord) => boolean);

/** Who made a REST call, as far as the emulator could tell (before validating it). */
export type ApiCredentialKind = "pat" | "installation" | "app-jwt" | "none";

/** One REST call (not the runner protocol, downloads or admin API); `path` without `/api/v3` or query. */
export interface ApiCall {
  /** ms since the epoch, when the answer was written */
  at: number;
  method: string;
  path: string;
  /** "" when no emulated route matched (the answer was 404). */
  operationId: string;
  credential: ApiCredentialKind;
  status: number;
}

/** What `createApp` hands the test: GitHub's PKCS#1 PEM, as a downloaded app key looks. */
export interface AppGrant {
  id: number;
  slug: string;
  clientId: string;
  privateKeyPem: string;
}

export interface AppInfo {
  id: number;
  slug: string;
  clientId: string;
  installations: Array<{ id: number; account: string; type: "Organization" | "User" }>;
  tokensIssued: number;
}

export interface RateLimitStatus {
  limit: number;
  remaining: number;
  used: number;
  /** epoch seconds */
  reset: number;
}

/** A webhook `addWebhook` registers: like a repository/org hook, or an app's hook with `appId`. */
export interface WebhookInput {
  url: string;
  secret: string;
  /** Default `["workflow_job"]`; the only event the emulator sends. */
  events?: string[];
  /** Only jobs of this repository or organisation; default every job. */
  scope?: Scope;
  /** An app's webhook: only jobs of accounts the app is installed on, with `installation` in the payload. */
  appId?: number;
}

/** One delivery attempt, as GitHub's "Recent Deliveries" lists it. */
export interface WebhookDelivery {
  /** `X-GitHub-Delivery`; a redelivery keeps the id. */
  id: string;
  hookId: number;
  /** `workflow_job` or `ping`. */
  event: string;
  /** null for a ping. */
  action: string | null;
  jobId: number | null;
  redelivery: boolean;
  /** The receiver's HTTP status, 0 for a network error or timeout, null while pending. */
  status: number | null;
  durationMs: number | null;
  /** ms since the epoch, when the event happened (the payload was built). */
  createdAt: number;
  deliveredAt: number | null;
}

/** What `sendRawWebhook` posts: the body as given, default headers unless overridden (undefined removes one). */
export interface RawWebhookInput {
  /** Default: the URL of hook `hookId`, or of the only hook. */
  url?: string;
  hookId?: number;
  body: string | Buffer;
  headers?: Record<string, string | undefined>;
  /** Adds `X-Hub-Signature-256` computed with this secret (before `headers` apply). */
  signWith?: string;
}
