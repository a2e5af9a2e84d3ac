// The reconciler's vocabulary: what it observes, what it wants per pool, and the actions it plans.

/** Where a runner is in its one life, as derived from LXD and the agent's status file. */
export type RunnerPhase =
  | "creating" // this process is creating and starting it
  | "starting" // running, runner not yet listening
  | "idle" // listening for a job
  | "busy" // running its job
  | "finishing" // its agent reported the end; LXD is still stopping it
  | "stopped" // powered off: waiting to be collected
  | "deleting"; // this process is collecting or deleting it

export interface ObservedRunner {
  name: string;
  pool: string;
  phase: RunnerPhase;
  /** ms since the epoch, from the instance's `user.runnerd.created-at` key. */
  createdAt: number;
  /**
   * ms since the epoch when the current phase began, when known (idle, busy, finishing): the
   * agent's time clamped between the instance's creation and runnerd's first sight of the phase.
   */
  phaseSince?: number;
  job?: string;
  image?: string;
  /** Scope key (`user.runnerd.scope`). */
  scope?: string;
  /** JIT runners: GitHub's id of the registration and the connection it belongs to. */
  githubRunnerId?: number;
  connection?: string;
  /** The cluster member the instance is on; absent when the server is not clustered. */
  member?: string;
  /** Its cluster member does not answer for it: nothing can be done to it, it counts as last seen. */
  unreachable?: boolean;
}

/** What the planner needs to know of one configured pool. */
export interface PoolSpec {
  name: string;
  scope: string;
  /** Runners kept available (creating, starting or idle) even with no job queued. */
  floor: number;
  /** Most runners the pool may have active at once (available plus busy). */
  ceiling: number;
  /** `push` (default): runners need a pushed registration token; `jit`: runnerd mints a JIT config per runner. */
  credential?: "push" | "jit";
  /** Idle runners above the target are removed after this long; absent: at once. */
  idleTimeoutMs?: number;
  /** On a cluster: a member or `@group` to place runners on, and whether to spread them over members. */
  placement?: { target?: string; spread: boolean };
}

/** A cluster member as the planner sees it: LXD's Online, Evacuated, and anything else as offline. */
export type MemberState = "online" | "evacuated" | "offline";

export interface MemberView {
  name: string;
  state: MemberState;
  groups: readonly string[];
  /** When runnerd first saw it offline (ms since the epoch): its runners are written off after `memberOfflineTimeoutMs`. */
  offlineSince?: number;
}

export interface PlanSettings {
  maxRunners: number;
  bootTimeoutMs: number;
  jobTimeoutMs: number;
  tokenMinValidityMs: number;
  /** Poll interval while a runner is starting: how soon to look again for "listening". */
  startingPollMs: number;
  /**
   * A runner whose agent finished but whose instance is still running after this is force-stopped
   * and collected as `finishing-timeout` (the daemon uses `finishingDeadlineMs`, settings.ts).
   */
  finishingTimeoutMs: number;
  /** On a cluster: runners at most on one member (`cluster.max_runners_per_member`). */
  maxRunnersPerMember?: number;
  /** Runners on a member offline this long are written off and replaced (`cluster.member_offline_timeout`). */
  memberOfflineTimeoutMs?: number;
}

export interface Snapshot {
  pools: readonly PoolSpec[];
  runners: readonly ObservedRunner[];
  /** Registration token expiry (ms since the epoch) per scope key; absent: no token. */
  tokenExpiry: ReadonlyMap<string, number>;
  /** Pools whose spawns failed recently wait until this time (ms since the epoch). */
  backoffUntil: ReadonlyMap<string, number>;
  /** True while the daemon shuts down: nothing new is spawned. */
  shuttingDown: boolean;
  /** Fingerprint each pool's image (alias) points at now; idle runners of another image are replaced. */
  poolImages?: ReadonlyMap<string, string>;
  /** Queued jobs matched to each pool and not yet picked up (from webhooks or recovery). */
  demand?: ReadonlyMap<string, number>;
  /** Pools whose image holds a runner version GitHub refuses: nothing is spawned from it (deprecation.ts). */
  deprecated?: ReadonlySet<string>;
  /** Increasing mark of each pool's last spawn (a time or a serial): under the host cap, ties go to the pool served least recently. */
  lastSpawnAt?: ReadonlyMap<string, number>;
  /** The cluster's members; absent or empty: one server, not clustered. */
  members?: readonly MemberView[];
}

export type Outcome = "boot-timeout" | "job-timeout" | "finishing-timeout" | "pool-removed" | "surplus" | "image-updated" | "member-evacuated";

export type Action =
  // `target`: the member or `@group` to create it on (a cluster); absent: the server's scheduler chooses.
  | { kind: "spawn"; pool: string; reason: string; target?: string; clustered?: boolean }
  | { kind: "collect"; pool: string; runner: string; reason: string; forceStop: boolean; outcome?: Outcome }
  | { kind: "delete"; pool: string; runner: string; reason: string; outcome: Outcome };

/** Why a pool has fewer runners than it wants, if it does. */
export type PoolBlocker = "token-missing" | "token-expiring" | "runner-deprecated" | "backoff" | "host-cap" | "member-cap" | "no-member" | "shutting-down";

export interface PoolStatus {
  name: string;
  scope: string;
  idle: number;
  busy: number;
  starting: number;
  finishing: number;
  /** The pool's bounds, as configured. */
  floor: number;
  ceiling: number;
  blocked?: PoolBlocker;
  tokenExpiresAt?: number;
  /** `jit`: the pool mints a config per runner, so no token applies. */
  credential?: "push" | "jit";
  /** Queued jobs waiting for this pool. */
  queued?: number;
}

/** A cluster member in the plan's status: its state and what it holds. */
export interface MemberStatus {
  name: string;
  state: MemberState;
  runners: number;
  idle: number;
  busy: number;
  /** Runners there written off (the member was offline past the timeout). */
  lost: number;
}

export interface Plan {
  actions: Action[];
  pools: PoolStatus[];
  /** On a cluster: each member and what it holds. */
  members?: MemberStatus[];
  /** Runners on a member offline past the timeout: no longer capacity, replaced elsewhere. */
  lost?: ObservedRunner[];
  /** Look again after this many ms even if nothing happens (deadlines, polling); absent: no need. */
  requeueAfterMs?: number;
}
