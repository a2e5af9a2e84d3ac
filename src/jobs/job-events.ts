// What the daemon does with a `workflow_job` event: match a newly queued job to a pool (only pools
// of the connection whose secret verified the delivery), record it in the history (order- and
// duplicate-tolerant), update metrics, and ask for a pass when anything changed.
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { describeError } from "../errors.js";
import type { JobEvent, JobRecord } from "../store/job-types.js";
import { matchPool, poolCandidate } from "../pools/job-match.js";
import type { ObservedRunner } from "../pools/types.js";
import type { Store } from "../store/index.js";

export interface JobEventDeps {
  config(): Config;
  store: Pick<Store, "getJob" | "recordJobEvent">;
  runners(): readonly ObservedRunner[];
  requestPass(reason: string): void;
  jobChanged?(before: JobRecord | undefined, after: JobRecord): void;
  logger: Logger;
}

export function handleJobEvent(event: JobEvent, deps: JobEventDeps): void {
  try {
    const before = deps.store.getJob(event.jobId) ?? undefined;
    const pool = before?.pool ?? poolFor(event, deps);
    const { changed, record } = deps.store.recordJobEvent(event, pool);
    if (!changed) return;
    deps.jobChanged?.(before, record);
    deps.logger.debug({ job: event.jobId, action: event.action, pool, repository: event.repository, runner: event.runnerName }, "workflow_job recorded");
    if (pool !== null) deps.requestPass(`workflow_job ${event.action} ${event.jobId}`);
  } catch (err) {
    deps.logger.error({ err: describeError(err), job: event.jobId, action: event.action }, "recording a workflow_job event failed");
  }
}

/** A job running on one of our runners belongs to that runner's pool; else GitHub's label rules decide. */
function poolFor(event: JobEvent, deps: JobEventDeps): string | null {
  const runners = deps.runners();
  if (event.runnerName) {
    const ours = runners.find((r) => r.name === event.runnerName);
    if (ours) return ours.pool;
  }
  const counts = new Map<string, number>();
  for (const r of runners) counts.set(r.pool, (counts.get(r.pool) ?? 0) + 1);
  const candidates = deps.config().pools.filter((p) => p.connection === event.connection).map((p) => poolCandidate(p, counts.get(p.name) ?? 0));
  return matchPool({ repository: event.repository, labels: event.labels }, candidates) ?? null;
}

/** The handler webhooks and job recovery share: one path from a `workflow_job` event to the history and a pass. */
export function jobEventHandler(deps: JobEventDeps): (event: JobEvent) => void {
  return (event) => handleJobEvent(event, deps);
}
