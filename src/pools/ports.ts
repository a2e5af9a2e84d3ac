// The narrow interfaces the reconciler acts through; the LXD client and the store satisfy them,
// and tests can hand in their own.
import type { FailureSource } from "../errors.js";
import type { PoolBackoff } from "./backoff.js";
import type { DeprecatedPools } from "./deprecation.js";
import type { RunnerOutcome } from "./runner-record.js";
import type { PoolRuntime, ReconcilerSettings } from "./settings.js";

export interface InstanceSummary {
  name: string;
  status: string;
  config: Record<string, string>;
  /** The cluster member it is on; "none" or "" on a server that is not clustered. */
  location?: string;
}

export interface CreateInstanceRequest {
  name: string;
  source: { alias: string } | { fingerprint: string };
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  profiles: string[];
  /** On a cluster: the member or `@group` to create it on. */
  target?: string;
}

export interface LxdPort {
  /** `includeUnreadable`: also the config-less "Error" placeholders a cluster lists for a member that does not answer. */
  listInstances(filter: { configKey: string; value: string; includeUnreadable?: boolean }): Promise<InstanceSummary[]>;
  createInstance(request: CreateInstanceRequest): Promise<void>;
  startInstance(name: string): Promise<void>;
  stopInstance(name: string, options: { force: boolean; timeoutSeconds?: number }): Promise<void>;
  deleteInstance(name: string): Promise<void>;
  makeDirectory(instance: string, path: string, options: { mode: number; parents?: boolean }): Promise<void>;
  pushFile(instance: string, path: string, content: Buffer | string, options: { mode: number; uid?: number; gid?: number }): Promise<void>;
  /** Bounded: a job controls these files and can make a read hang or a file huge (see read-limits.ts). */
  pullFile(instance: string, path: string, bounds: { timeoutMs: number; maxBytes: number }): Promise<Buffer | null>;
  /** As pullFile, streamed to a host file and cut at `maxBytes` instead of refused; null when missing. */
  pullFileTo(instance: string, path: string, dest: string, bounds: { timeoutMs: number; maxBytes: number }): Promise<{ bytes: number; truncated: boolean } | null>;
  /** Waits, bounded, until LXD has cleaned up after an instance that stopped by itself; false: the wait ran out first. */
  waitForStopCleanup(name: string): Promise<boolean>;
  /** The fingerprint an image alias points at; null when there is no such alias. */
  getImageAlias(alias: string): Promise<{ target: string } | null>;
  /** The cluster's members (`status`: LXD's Online, Offline, Evacuated…); empty when not clustered. */
  clusterMembers?(): Promise<{ name: string; status: string; groups: string[] }[]>;
}

export interface TokenPort {
  getToken(scope: string): { token: string; expiresAt: Date } | null;
  listTokens(): { scope: string; expiresAt: Date }[];
}

/** GitHub registrations of JIT runners (app and pat connections). */
export interface RegistrarPort {
  /** Registers runner `name` of `pool` and returns its single-use config. */
  jitConfig(pool: PoolRuntime, name: string): Promise<{ runnerId: number; encodedJitConfig: string }>;
  /**
   * Deletes a registration (`scope` is a scope key); one that is gone already is fine. `busy`:
   * GitHub refused (422) because the runner runs a job, so the runner must be kept.
   */
  deleteRegistration(registration: { connection: string; scope: string; runnerId: number }): Promise<"deleted" | "gone" | "busy">;
}

/** runnerd-built images (`images:`), for pools whose runners show the image is out of date. */
export interface ImagePort {
  /** Rebuilds the image with the newest actions/runner, once per runner version, if it has auto_rebuild. */
  rebuildNow(image: string, reason: string): Promise<unknown>;
  /** Checks the image's runner against the releases soon (rate-limited by the watcher). */
  checkSoon(image: string, reason: string): Promise<unknown>;
}

export interface HistoryPort {
  recordRunnerCreated(entry: { name: string; pool: string; scope: string; image: string; createdAt: Date }): void;
  markRunnerListening(name: string, at: Date): void;
  markRunnerBusy(name: string, at: Date, jobName?: string): void;
  markRunnerStopped(name: string, at: Date): void;
  recordRunnerResult(name: string, result: { exitCode: number | null; jobSeen: boolean; outcome: RunnerOutcome; detail?: string; finishedAt: Date }): void;
  markRunnerDeleted(name: string, at: Date): void;
  addEvent(event: { level: "info" | "warn" | "error"; kind: string; pool?: string; runner?: string; message: string }): void;
}

/** What the reconciler reports as it works, for metrics; every method is optional to implement. */
export interface ReconcilerObserver {
  passDone?(ms: number): void;
  spawnDone?(pool: string, ms: number, ok: boolean): void;
  /** A runner of `pool` stopped being available for good (finished, failed or deleted). */
  runnerGone?(pool: string, at: number): void;
  runnerListening?(pool: string, at: number): void;
  collected?(pool: string, outcome: string): void;
  /** A collected runner of `pool` had updated itself `count` times: its image is behind. */
  selfUpdated?(pool: string, count: number): void;
  /** `source`: where the failure came from (lxd, github); `operation`: what was being done. */
  failure?(source: FailureSource, operation: string): void;
}

// What the actions (actions.ts) work with.

export interface ActionPorts {
  lxd: LxdPort;
  tokens: TokenPort;
  /** JIT registrations; required when any pool uses an app or pat connection. */
  registrar?: RegistrarPort | undefined;
  history: HistoryPort;
  observer?: ReconcilerObserver | undefined;
  /** runnerd-built images: a pool refused for its runner version asks for a rebuild here. */
  images?: ImagePort | undefined;
  now: () => number;
  agentScript: string;
}

export interface ActionContext {
  settings: () => ReconcilerSettings;
  backoff: Pick<PoolBackoff, "fail" | "jobDone">;
  deprecated: Pick<DeprecatedPools, "note">;
  shuttingDown: () => boolean;
  /** A runner planned away took a job meanwhile: the next passes must see it busy. */
  tookJob?: (runner: string, at: number) => void;
}

/** Where a JIT runner's registration is deleted. */
export interface Registration {
  connection: string;
  scope: string;
  runnerId: number;
}
