// The emulator's in-memory world: tokens, runner registrations, groups and jobs, plus change listeners.
import { randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";
import type { RunnerTarball } from "./runner-downloads.js";
import type { ApiCall, JobRecord, RunnerFaultSpec, RunnerGroup, RunnerRecord, Scope } from "./types.js";

/** A `workflow_job` transition, as the webhook `action` names it. */
export type JobAction = "queued" | "in_progress" | "completed";

export interface IssuedToken {
  token: string;
  scope: Scope;
  kind: "registration" | "remove";
  expiresAt: number;
}

export interface AdminToken {
  token: string;
  scope: Scope;
  runnerEvent: "register" | "remove";
  expiresAt: number;
}

/** One actions/runner release: a version, when it came out, and its (shared) tarball. */
export interface RunnerRelease {
  id: number;
  version: string;
  /** ms since the epoch, whole seconds (GitHub's timestamps have no fraction). */
  publishedAt: number;
  /** Null when tar could not pack it: the release is listed, its downloads answer 404. */
  tarball: RunnerTarball | null;
  /** Downloads per asset file name. */
  downloads: Map<string, number>;
}

/** A GitHub App: JWTs it signs are checked against `publicKey`. */
export interface AppRecord {
  id: number;
  slug: string;
  clientId: string;
  owner: string;
  publicKey: KeyObject;
  privateKeyPem: string;
  permissions: Record<string, "read" | "write">;
  createdAt: number;
}

/** An app installed on an account; it covers every repository of that account. */
export interface InstallationRecord {
  id: number;
  appId: number;
  account: string;
  accountType: "Organization" | "User";
  createdAt: number;
}

export interface InstallationToken {
  token: string;
  installationId: number;
  permissions: Record<string, "read" | "write">;
  expiresAt: number;
}

/** One primary (core) rate-limit window of a credential. */
export interface RateBucket {
  limit: number;
  used: number;
  /** Epoch seconds the window ends. */
  resetAt: number;
}

/** What a long poll ends with: a job id, nothing (timeout), "gone" (deleted), another message or an error. */
export type PollAnswer = number | "timeout" | "gone" | { message: Record<string, unknown> } | { reply: { status: number; reason: string; body: Record<string, unknown> } };

/** A runner's open long poll, with what the listener said about itself when it asked. */
export interface PollWaiter {
  runnerId: number;
  /** The listener's version, whether it takes updates, and its architecture (`x64`, `arm64`). */
  listener: PollingListener;
  answer(outcome: PollAnswer): void;
}

/** The query of a message poll, as BrokerHttpClient.GetRunnerMessageAsync sends it. */
export interface PollingListener {
  version: string | null;
  updatesDisabled: boolean;
  arch: string;
  /** How the listener addressed the emulator, for the download URL of an update. */
  origin: string;
}

/** A RunnerFaultSpec waiting for its runner, or bound to it. */
export interface ArmedRunnerFault {
  spec: RunnerFaultSpec;
  remaining: number;
  /** The runner it applies to once one matched (a session conflict sticks to its runner). */
  runnerId: number | null;
}

export interface EmulatorState {
  now(): number;
  longPollMs: number;
  assignTimeoutMs: number;
  runnerVersion: string;
  pats: Set<string>;
  /** PATs that expire: ms since the epoch. */
  patExpiry: Map<string, number>;
  apps: Map<number, AppRecord>;
  installations: Map<number, InstallationRecord>;
  installationTokens: Map<string, InstallationToken>;
  /** Keyed by lower-case login, so an account keeps its id across installations. */
  accountIds: Map<string, number>;
  /** Keyed by `pat:<token>`, `installation:<id>`, `app:<id>` or `unauthenticated`. */
  rateLimits: Map<string, RateBucket>;
  apiCalls: ApiCall[];
  tokens: Map<string, IssuedToken>;
  adminTokens: Map<string, AdminToken>;
  runners: Map<number, RunnerRecord>;
  /** Keyed by lower-case org name; every org has the "Default" group with id 1. */
  groups: Map<string, RunnerGroup[]>;
  jobs: Map<number, JobRecord>;
  /** actions/runner releases, newest `publishedAt` first; the first is "latest". */
  releases: RunnerRelease[];
  waiters: Map<number, PollWaiter>;
  /** A release offered to listening runners older than it (runner-control.ts); null: none. */
  updateOffer: string | null;
  /** Runners older than this are refused messages as deprecated; null: none. */
  minimumRunnerVersion: string | null;
  runnerFaults: ArmedRunnerFault[];
  timers: Set<NodeJS.Timeout>;
  listeners: Set<() => void>;
  /** Called synchronously on each job transition (the webhook sender snapshots the job there). */
  jobObservers: Set<(job: JobRecord, action: JobAction) => void>;
  nextRunnerId: number;
  nextRunId: number;
  nextJobId: number;
  nextGroupId: number;
  nextReleaseId: number;
  nextAppId: number;
  nextInstallationId: number;
  labelIds: Map<string, number>;
}

export function createState(opts: { longPollMs: number; assignTimeoutMs: number; runnerVersion: string }): EmulatorState {
  return {
    now: () => Date.now(),
    longPollMs: opts.longPollMs,
    assignTimeoutMs: opts.assignTimeoutMs,
    runnerVersion: opts.runnerVersion,
    pats: new Set(),
    patExpiry: new Map(),
    apps: new Map(),
    installations: new Map(),
    installationTokens: new Map(),
    accountIds: new Map(),
    rateLimits: new Map(),
    apiCalls: [],
    tokens: new Map(),
    adminTokens: new Map(),
    runners: new Map(),
    groups: new Map(),
    jobs: new Map(),
    releases: [],
    waiters: new Map(),
    updateOffer: null,
    minimumRunnerVersion: null,
    runnerFaults: [],
    timers: new Set(),
    listeners: new Set(),
    jobObservers: new Set(),
    nextRunnerId: 1,
    nextRunId: 9_100_000_001,
    nextJobId: 1,
    nextGroupId: 2,
    nextReleaseId: 1,
    nextAppId: 1001,
    nextInstallationId: 40001,
    labelIds: new Map(),
  };
}

export function notifyChange(state: EmulatorState): void {
  for (const listener of state.listeners) listener();
}

export function emitJob(state: EmulatorState, job: JobRecord, action: JobAction): void {
  for (const observer of state.jobObservers) observer(job, action);
}

export function randomToken(prefix: string, bytes = 20): string {
  return prefix + randomBytes(bytes).toString("hex").toUpperCase();
}

export function runnerGroupsOf(state: EmulatorState, org: string): RunnerGroup[] {
  const key = org.toLowerCase();
  let groups = state.groups.get(key);
  if (groups === undefined) {
    groups = [{ id: 1, name: "Default", default: true }];
    state.groups.set(key, groups);
  }
  return groups;
}

export function addRunnerGroup(state: EmulatorState, org: string, name: string): RunnerGroup {
  const groups = runnerGroupsOf(state, org);
  const existing = groups.find((g) => g.name.toLowerCase() === name.toLowerCase());
  if (existing !== undefined) return existing;
  const group = { id: state.nextGroupId++, name, default: false };
  groups.push(group);
  return group;
}

export function later(state: EmulatorState, ms: number, fn: () => void): void {
  const timer = setTimeout(() => {
    state.timers.delete(timer);
    fn();
  }, ms);
  timer.unref();
  state.timers.add(timer);
}

/** Who an API request authenticated as (see credentials.ts). */
export type Credential =
  | { kind: "none" }
  | { kind: "pat"; token: string; expiresAt: number | null }
  | { kind: "installation"; token: InstallationToken; installation: InstallationRecord }
  | { kind: "app-jwt"; app: AppRecord };
