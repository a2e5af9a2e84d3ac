// Builds the daemon's long-lived parts from the live configuration and connects them: the
// reconciler, the periodic tasks, job intake, metrics and the status publisher. Nothing starts here.
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { readAgentScript } from "../agent/index.js";
import { createMetricsRegistry } from "../http/metrics.js";
import { RunnerMetrics } from "../http/runner-metrics.js";
import { RunnerUpdateWatcher } from "../images/runner-updates.js";
import { DEMAND_MAX_AGE_MS } from "../jobs/demand.js";
import { jobEventHandler } from "../jobs/job-events.js";
import { JobRecovery } from "../jobs/job-recovery.js";
import type { JobEvent } from "../store/job-types.js";
import type { HostResources, LxdClient } from "../lxd/index.js";
import { Reconciler } from "../pools/reconciler.js";
import { reconcilerSettings } from "../pools/settings-from-config.js";
import type { Store } from "../store/index.js";
import { JitRegistrar } from "../pools/jit-registrar.js";
import type { LiveConfig } from "./live-config.js";
import { RegistrationSweeper } from "../pools/registration-sweeper.js";
import { StatusPublisher } from "./status-publisher.js";

export interface PartsContext {
  live: LiveConfig;
  store: Store;
  lxd: LxdClient;
  /** The host's size, for the runners' default limits (null: unknown). */
  host: HostResources | null;
  logger: Logger;
  now: () => number;
  startedAt: number;
  configPath: string;
}

export interface Parts {
  reconciler: Reconciler;
  runnerUpdates: RunnerUpdateWatcher;
  sweeper: RegistrationSweeper;
  jobRecovery: JobRecovery;
  registry: Registry;
  runnerMetrics: RunnerMetrics;
  publisher: StatusPublisher;
  /** Webhooks and job recovery hand `workflow_job` events here. */
  handleJob: (event: JobEvent) => void;
}

export function buildParts(ctx: PartsContext): Parts {
  const { live, store, logger, now } = ctx;
  const config = () => live.config;
  const addEvent = (event: Parameters<Store["addEvent"]>[0]) => store.addEvent(event);
  // Parts report to each other through these lazily read references, so build order does not matter.
  const ref = {} as Parts;
  const publisher = new StatusPublisher({
    live,
    configPath: ctx.configPath,
    startedAt: ctx.startedAt,
    now,
    tokens: () => store.listTokens(),
    reconciler: () => ref.reconciler.status(),
    images: () => ref.runnerUpdates.status(),
    sweep: () => ref.sweeper.status(),
    logger,
  });
  const registry = createMetricsRegistry({ credentials: () => publisher.credentials(), github: () => publisher.github(true), now });
  const runnerMetrics = new RunnerMetrics(registry, { runners: () => ref.reconciler.status()?.runners ?? [], pools: () => ref.reconciler.status()?.pools ?? [] });
  const reconciler = new Reconciler(
    {
      lxd: ctx.lxd,
      tokens: store,
      registrar: new JitRegistrar(() => live.githubClients, () => live.config.controller_id),
      history: store,
      // Built below; read when a runner shows its image is out of date.
      images: { rebuildNow: (image, reason) => ref.runnerUpdates.rebuildNow(image, reason), checkSoon: (image, reason) => ref.runnerUpdates.checkSoon(image, reason) },
      demand: () => store.queuedDemand(now(), DEMAND_MAX_AGE_MS),
      observer: runnerMetrics,
      logger,
      now,
      agentScript: readAgentScript(),
      onStatus: () => publisher.publish(),
    },
    reconcilerSettings(live.config, ctx.host),
  );
  const handleJob = jobEventHandler({
    config,
    store,
    runners: () => reconciler.status()?.runners ?? [],
    requestPass: (reason) => reconciler.requestPass(reason),
    jobChanged: (before, after) => {
      runnerMetrics.jobChanged(before, after);
      // GitHub says which runner took the job: read that one at the next pass, not every idle runner each pass.
      if (after.status === "in_progress" && after.runnerName && before?.status !== "in_progress") reconciler.runnerTookJob(after.runnerName);
    },
    logger,
  });
  const task = (name: string) => logger.child({ task: name });
  Object.assign(ref, {
    reconciler,
    runnerUpdates: new RunnerUpdateWatcher({ lxd: ctx.lxd, logger: task("runner-updates"), config, now, addEvent, onReport: () => publisher.writeFile() }),
    sweeper: new RegistrationSweeper({ lxd: ctx.lxd, clients: () => live.githubClients, config, inFlight: () => reconciler.inFlightNames(), logger: task("registration-sweep"), now, addEvent }),
    jobRecovery: new JobRecovery({ clients: () => live.githubClients, config, store, handle: handleJob, logger: task("job-recovery"), now }),
    registry,
    runnerMetrics,
    publisher,
    handleJob,
  } satisfies Parts);
  return ref;
}
