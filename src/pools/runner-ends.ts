// What a collected runner's end means for its pool: a runner that ended without running a job
// counts against the pool's backoff; one refused for its runner version blocks the pool (and asks
// for a rebuild when runnerd builds the image with auto_rebuild); one that updated itself shows the
// image is behind. Pure decisions are in decisions.ts and deprecation.ts; this applies them.
import type { Logger } from "pino";
import { describeError } from "../errors.js";
import type { PoolBackoff } from "./backoff.js";
import { deprecatedVersion, endedWithoutJob, isTerminalEnd, ranJob, selfUpdates, type CollectedFacts } from "./decisions.js";
import { deprecationMessage, type DeprecatedPools } from "./deprecation.js";
import type { HistoryPort, ImagePort, ReconcilerObserver } from "./ports.js";
import type { PoolRuntime } from "./settings.js";

export interface RunnerEndPorts {
  history: HistoryPort;
  observer?: ReconcilerObserver | undefined;
  images?: ImagePort | undefined;
}

export interface RunnerEndContext {
  backoff: Pick<PoolBackoff, "fail" | "jobDone">;
  deprecated: Pick<DeprecatedPools, "note">;
  now: () => number;
}

/** One collected runner, as far as its pool is concerned. */
export interface RunnerEnd {
  pool: string;
  runner: string;
  /** The pool's configuration; undefined when the pool left the configuration. */
  runtime: PoolRuntime | undefined;
  /** The fingerprint the runner was made from, when a pass saw it. */
  image: string | undefined;
  /** When the runner was made (ms), when known. */
  createdAt: number | undefined;
  facts: CollectedFacts;
  detail: string | undefined;
  /** The agent's result, for the self-update count (`updates`). */
  result: object | null;
}

export function applyRunnerEnd(end: RunnerEnd, ports: RunnerEndPorts, ctx: RunnerEndContext, log: Logger): void {
  const { outcome } = end.facts;
  if (endedWithoutJob(end.facts)) {
    const message = `runner ${end.runner} ended without a job (${outcome}${end.detail ? `: ${end.detail}` : ""})`;
    const report = { reason: `runner-${outcome}`, key: `${outcome}: ${(end.detail ?? "").replaceAll(end.runner, "<runner>")}` };
    const { delay, count, changed } = ctx.backoff.fail(end.pool, message, isTerminalEnd(outcome), report);
    // Once per change of the pool's state; the runner's own end is an event of collect's.
    log[changed ? "warn" : "debug"]({ retryInMs: delay, failures: count }, "runner ended without running a job; pool backs off");
  } else if (ranJob(end.facts) && end.createdAt !== undefined && ctx.backoff.jobDone(end.pool, end.createdAt)) {
    log.info({}, "a runner made after the pool's last failure ran a job: pool backoff reset");
    ports.history.addEvent({ level: "info", kind: "backoff-ended", pool: end.pool, runner: end.runner, message: "a runner spawned since the last failure ran a job: spawning resumes at full speed" });
  }
  if (outcome === "runner-deprecated" && end.facts.plannedOutcome === undefined) deprecated(end, ports, ctx, log);
  const updates = selfUpdates(end.result);
  if (updates > 0) selfUpdated(end, updates, ports, log);
}

/** The runner's version was refused: block the pool's image (once per image), and rebuild it when runnerd may. */
function deprecated(end: RunnerEnd, ports: RunnerEndPorts, ctx: RunnerEndContext, log: Logger): void {
  const pool = end.runtime;
  const version = deprecatedVersion(end.detail, end.result);
  const message = pool ? deprecationMessage(pool, version) : `actions/runner${version ? ` ${version}` : ""} is deprecated`;
  const entry = { runner: end.runner, at: ctx.now(), message, ...(end.image ? { fingerprint: end.image } : {}), ...(version ? { version } : {}) };
  const blocked = pool !== undefined && ctx.deprecated.note(end.pool, entry);
  ports.history.addEvent({ level: blocked ? "error" : "warn", kind: "runner-deprecated", pool: end.pool, runner: end.runner, message: blocked ? `pool blocked: ${message}` : message });
  if (!blocked) return; // this image's block is known already (or the pool is gone)
  log.error({ image: pool.image, fingerprint: end.image, version }, `pool blocked: ${message}`);
  if (pool.builtImage?.autoRebuild && ports.images) {
    const name = pool.builtImage.name;
    ports.images.rebuildNow(name, `runner ${end.runner} of pool ${end.pool} was refused: ${message}`).catch((err: unknown) => log.error({ err: describeError(err), image: name }, "asking for a rebuild failed"));
  }
}

function selfUpdated(end: RunnerEnd, updates: number, ports: RunnerEndPorts, log: Logger): void {
  const image = end.runtime?.image ?? "its image";
  const message = `runner ${end.runner} updated actions/runner itself ${updates} time(s): ${image} is behind the newest release`;
  log.warn({ updates }, message);
  ports.history.addEvent({ level: "warn", kind: "runner-self-updated", pool: end.pool, runner: end.runner, message });
  ports.observer?.selfUpdated?.(end.pool, updates);
  const built = end.runtime?.builtImage;
  if (built?.autoRebuild && ports.images) {
    ports.images.checkSoon(built.name, message).catch((err: unknown) => log.warn({ err: describeError(err), image: built.name }, "asking for a runner-release check failed"));
  }
}
