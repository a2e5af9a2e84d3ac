// Observe: the whole snapshot a pass plans from, in one call — runners and tokens (observe.ts),
// where each pool's image alias points, queued demand, backoffs, in-flight actions and the
// spawn order. Memory only caches here; LXD and the store are the truth.
import type { Logger } from "pino";
import { describeError } from "../errors.js";
import { isImageFingerprint } from "../lxd/index.js";
import { clampPhaseStart } from "./agent-status.js";
import type { PoolBackoff } from "./backoff.js";
import type { DeprecatedPools } from "./deprecation.js";
import { demandLingerMs, IdleReads } from "./idle-reads.js";
import { ClusterMembers } from "./members.js";
import { observeRunners, type CachedStatus, type InFlight, type Transition } from "./observe.js";
import type { LxdPort, TokenPort } from "./ports.js";
import type { ReconcilerSettings } from "./settings.js";
import type { ObservedRunner, Snapshot } from "./types.js";

/** How long a resolved image alias is trusted before it is read again. */
const aliasRecheckMs = 5_000;

export interface SnapshotSources {
  lxd: LxdPort;
  tokens: TokenPort;
  /** Queued jobs per pool not yet picked up (webhooks); absent: the floor alone decides. */
  demand?: () => ReadonlyMap<string, number>;
  inFlight: () => ReadonlyMap<string, InFlight>;
  lastSpawnAt: () => ReadonlyMap<string, number>;
  backoff: Pick<PoolBackoff, "settle" | "untilByPool">;
  deprecated?: Pick<DeprecatedPools, "settle" | "blocked">;
  /** runnerd's clock (the reconciler's injected `now`); Date.now when absent. */
  now?: () => number;
}

export interface Observed {
  snapshot: Snapshot & { runners: ObservedRunner[] };
  /** Agent status changes seen by this observation, for the history. */
  transitions: Transition[];
  /** Pools whose backoff this observation ended (a new runner of theirs took a job or stayed listening). */
  recovered: string[];
  /** When a listening runner will end a backoff, if one will: a pass should look then. */
  recoveryDueAt?: number;
  /** Pools blocked for a deprecated runner version whose image has moved since. */
  undeprecated: string[];
}

export class SnapshotObserver {
  private readonly statusCache = new Map<string, CachedStatus>();
  private readonly aliasCache = new Map<string, { target: string | null; readAt: number }>();
  private readonly members = new ClusterMembers();
  /** The runners the last pass saw: a cluster lists those of a member that does not answer without their config. */
  private known = new Map<string, ObservedRunner>();
  private readonly idleReads = new IdleReads();

  constructor(private readonly sources: SnapshotSources) {}

  /** One snapshot. Throws when LXD cannot list the instances; an alias that cannot be read only skips rolling. */
  async observe(settings: ReconcilerSettings, now: number, shuttingDown: boolean, log: Logger): Promise<Observed> {
    const { lxd, tokens, demand, backoff } = this.sources;
    const inFlight = this.sources.inFlight();
    // Taken first: it decides which idle runners this pass reads (idle-reads.ts).
    const queued = demand?.();
    this.idleReads.update(queued, now);
    // A pass after the one the in_progress webhook asked for may be the resync: it must still find the pool busy.
    const linger = Math.max(demandLingerMs, 2 * settings.resyncIntervalMs);
    const idleRecheckMs = (pool: string, runner: string) => this.idleReads.intervalFor(pool, runner, now, linger);
    const members = await this.members.observe(lxd, now, log);
    const offline = new Set(members.filter((m) => m.state === "offline").map((m) => m.name));
    const cluster = members.length > 0 ? { unreachable: offline, known: this.known } : undefined;
    const seen = await observeRunners(lxd, tokens, settings.controllerId, inFlight, this.statusCache, { now, idleRecheckMs }, cluster);
    this.known = new Map(seen.runners.map((r) => [r.name, r]));
    const poolImages = await this.poolImages(settings, now, log);
    // Ended here, so that the snapshot's backoffs are those still standing after what it shows.
    const { recovered, dueAt } = backoff.settle(seen.runners, now);
    const undeprecated = this.sources.deprecated?.settle(settings.pools.map((p) => p.spec.name), (pool) => currentImage(settings, poolImages, pool)) ?? [];
    const deprecated = this.sources.deprecated?.blocked();
    const snapshot: Observed["snapshot"] = {
      pools: settings.pools.map((p) => p.spec),
      runners: seen.runners,
      tokenExpiry: seen.tokenExpiry,
      backoffUntil: backoff.untilByPool(),
      shuttingDown,
      poolImages,
      lastSpawnAt: new Map(this.sources.lastSpawnAt()),
      ...(queued ? { demand: queued } : {}),
      ...(deprecated && deprecated.size > 0 ? { deprecated } : {}),
      ...(members.length > 0 ? { members } : {}),
    };
    return { snapshot, transitions: seen.transitions, recovered, undeprecated, ...(dueAt !== undefined ? { recoveryDueAt: dueAt } : {}) };
  }

  /**
   * A webhook says the runner took a job: its status file is read at the next pass, however
   * recently it was read (an idle runner of a quiet pool is otherwise read every few minutes).
   */
  readSoon(name: string): void {
    const cached = this.statusCache.get(name);
    if (cached?.state === "idle") cached.readAt = -Infinity;
  }

  /**
   * GitHub refused to delete the runner's registration because it runs a job (or the agent
   * says so): treat it as busy now, before its status file says so, so the next passes do not
   * plan its removal again; its file is read again after a while.
   */
  assumeBusy(name: string, at: number): void {
    const cached = this.statusCache.get(name);
    if (cached && (cached.state === "busy" || cached.state === "finished")) return;
    // `at` may be the status file's time, which the job writes: never later than now (a future
    // time would keep the assumption, and the job timeout, from ever coming due), and never
    // before the phase runnerd saw last; observe bounds it by the instance's creation too.
    const now = (this.sources.now ?? Date.now)();
    const since = clampPhaseStart(at, cached?.since ?? -Infinity, now);
    this.statusCache.set(name, { state: "busy", since, readAt: now, assumed: true });
  }

  /**
   * Where each pool's image alias points now, re-read at most every few seconds: an image build
   * moves the alias, and the plan then rolls the pool's idle runners to the new image.
   */
  private async poolImages(settings: ReconcilerSettings, now: number, log: Logger): Promise<Map<string, string>> {
    // One read per alias, however many pools use it: ten pools of one image read it ten times a pass.
    const aliases = new Set(settings.pools.map((p) => p.image).filter((image) => !isImageFingerprint(image))); // a fingerprint never moves
    const targets = new Map<string, string | null>();
    await Promise.all(
      [...aliases].map(async (alias) => {
        let cached = this.aliasCache.get(alias);
        if (!cached || now - cached.readAt >= aliasRecheckMs) {
          try {
            const answer = await this.sources.lxd.getImageAlias(alias);
            cached = { target: answer?.target ?? null, readAt: now };
            this.aliasCache.set(alias, cached);
          } catch (err) {
            log.warn({ err: describeError(err), image: alias }, "cannot read the pool's image alias; not rolling this pass");
            return;
          }
        }
        targets.set(alias, cached.target);
      }),
    );
    const result = new Map<string, string>();
    for (const pool of settings.pools) {
      const target = targets.get(pool.image);
      if (target) result.set(pool.spec.name, target);
    }
    return result;
  }
}

/** The fingerprint a pool's image points at now: the alias's target, or the fingerprint it names. */
function currentImage(settings: ReconcilerSettings, poolImages: ReadonlyMap<string, string>, pool: string): string | undefined {
  const image = settings.pools.find((p) => p.spec.name === pool)?.image;
  return poolImages.get(pool) ?? (image !== undefined && isImageFingerprint(image) ? image : undefined);
}
