// Wiring: loads the configuration, opens the store and LXD, builds the parts, mounts the HTTP
// routes, starts the loops, and handles reload and shutdown. Signals are mapped to these by
// `runnerd up`. The work itself is done by the layers below; this folder only connects them.
import type { Logger } from "pino";
import { formatWarnings, loadConfigWithWarnings, type Config } from "../config/index.js";
import { describeError } from "../errors.js";
import type { GitHubClients } from "../github/clients.js";
import { startHttpServer, type HttpServer } from "../http/index.js";
import type { RunnerUpdateWatcher } from "../images/runner-updates.js";
import type { JobRecovery } from "../jobs/job-recovery.js";
import { connectLxd, type ConnectedLxd } from "../lxd/connect.js";
import type { EventSubscription, LxdClient } from "../lxd/index.js";
import { createLogger } from "../log.js";
import type { Reconciler } from "../pools/reconciler.js";
import { reconcilerSettings } from "../pools/settings-from-config.js";
import { openStore, type Store } from "../store/index.js";
import { startHousekeeping } from "./housekeeping.js";
import { LiveConfig, withSecrets } from "./live-config.js";
import { buildParts, type Parts } from "./parts.js";
import type { RegistrationSweeper } from "../pools/registration-sweeper.js";
import { reloadConfig, type ReloadResult } from "./reload.js";
import { daemonRoutes } from "./routes.js";
import { boundedShutdown } from "./shutdown.js";
import { claimPidFile, releasePidFile } from "./state-files.js";

export type { ReloadResult } from "./reload.js";

export interface DaemonOptions {
  configPath: string;
  logger?: Logger;
  now?: () => number;
  /** Delay before the first runner-release check (tests shorten it). */
  runnerCheckDelayMs?: number;
  /** Delay before the first registration sweep (tests shorten it). */
  sweepDelayMs?: number;
  /** Delay before the first job recovery listing (app/pat; tests lengthen it to drive it by hand). */
  jobRecoveryDelayMs?: number;
}

export interface Daemon {
  readonly reconciler: Reconciler;
  readonly runnerUpdates: RunnerUpdateWatcher;
  readonly sweeper: RegistrationSweeper;
  readonly jobRecovery: JobRecovery;
  readonly store: Store;
  /** runnerd's HTTP server (webhooks, token push, metrics, status page). */
  readonly http: HttpServer;
  /** GitHub clients of the app and pat connections, by connection name. */
  githubClients(): GitHubClients;
  readonly logger: Logger;
  config(): Config;
  /** Loads the file again; a refused file is logged and the old config keeps running. */
  reload(): ReloadResult;
  /** Stops within `shutdown_timeout` even when LXD calls hang (shutdown.ts); running runners stay. Calls after the first share it. */
  shutdown(): Promise<void>;
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, warnings } = loadConfigWithWarnings(options.configPath);
  const logger = options.logger ?? createLogger(config.log_level);
  for (const warning of formatWarnings(warnings)) logger.warn({}, warning);
  const now = options.now ?? Date.now;
  const live = new LiveConfig(withSecrets(config, logger));
  claimPidFile(config.state_dir);
  const { store, lxd } = await openStoreAndLxd(config, logger);
  const startedAt = now();
  const parts = buildParts({ live, store, lxd: lxd.client, host: lxd.host, logger, now, startedAt, configPath: options.configPath });
  const events = followInstanceStops(lxd.client, parts.reconciler, logger);
  let http: HttpServer;
  try {
    http = await startHttpServer({
      listen: config.http.listen,
      trustProxy: config.http.trust_proxy,
      logger: logger.child({ task: "http" }),
      routes: daemonRoutes({ live, parts, store, lxd: lxd.client, logger, now, startedAt }),
    });
  } catch (err) {
    events.close();
    await closeStoreAndLxd(config, store, lxd);
    throw err;
  }
  parts.publisher.listening(http.url);
  logger.info({ url: http.url }, "HTTP server listening");
  startParts(parts, options);
  const housekeeping = startHousekeeping({ config: () => live.config, store, logger: logger.child({ task: "housekeeping" }) });
  store.addEvent({ level: "info", kind: "daemon-started", message: `runnerd started with ${config.pools.length} pool(s)` });

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    const timeoutMs = live.config.shutdown_timeout;
    logger.info({ timeoutMs }, "shutting down: no new runners; running runners are left alone");
    housekeeping.stop();
    events.close();
    const report = await boundedShutdown({
      logger,
      timeoutMs,
      stopWork: () => stopParts(parts, http, timeoutMs),
      inFlight: () => parts.reconciler.inFlightNames(),
      abortLxd: () => lxd.client.close(0),
      closeStore: () => {
        store.addEvent({ level: "info", kind: "daemon-stopped", message: "runnerd stopped" });
        store.close();
        releasePidFile(live.config.state_dir);
      },
    });
    logger.info(report, "stopped");
  };
  const shutdown = () => (stopping ??= stop());
  const reload = () =>
    reloadConfig({
      configPath: options.configPath,
      live,
      logger,
      addEvent: (event) => store.addEvent(event),
      httpUrl: () => http.url,
      apply: (next) => parts.reconciler.updateSettings(reconcilerSettings(next, lxd.host)),
    });
  const { reconciler, runnerUpdates, sweeper, jobRecovery } = parts;
  return { reconciler, runnerUpdates, sweeper, jobRecovery, http, store, logger, reload, shutdown, githubClients: () => live.githubClients, config: () => live.config };
}

/** Opens both or neither: a failure releases what was taken (the pid file included). */
async function openStoreAndLxd(config: Config, logger: Logger): Promise<{ store: Store; lxd: ConnectedLxd }> {
  let store: Store | undefined;
  try {
    store = openStore(config.state_dir);
    const lxd = await connectLxd(config.lxd, { host: true });
    logger.info({ lxd: lxd.description, host: lxd.host, pools: config.pools.map((p) => p.name) }, "connected to LXD");
    return { store, lxd };
  } catch (err) {
    store?.close();
    releasePidFile(config.state_dir);
    throw err;
  }
}

async function closeStoreAndLxd(config: Config, store: Store, lxd: ConnectedLxd): Promise<void> {
  store.close();
  await lxd.client.close?.();
  releasePidFile(config.state_dir);
}

/** LXD lifecycle actions after which the world may differ from the last pass's view. */
const passActions = new Set(["instance-stopped", "instance-shutdown", "instance-deleted"]);

/** A runner that stopped is collected and replaced at once; the periodic resync is only the safety net. */
function followInstanceStops(lxd: LxdClient, reconciler: Reconciler, logger: Logger): EventSubscription {
  return lxd.subscribeEvents({
    types: ["lifecycle"],
    onEvent: (event) => {
      const action = (event.metadata as { action?: string } | undefined)?.action;
      if (action && passActions.has(action)) reconciler.requestPass(action);
    },
    onError: (err) => logger.warn({ err: describeError(err) }, "LXD event stream failed; reconnecting"),
    // Events may have been missed while disconnected: look at the whole world again.
    onReconnect: () => reconciler.requestPass("event stream reconnected"),
  });
}

function startParts(parts: Parts, options: DaemonOptions): void {
  parts.reconciler.start();
  parts.runnerUpdates.start(options.runnerCheckDelayMs);
  parts.sweeper.start(options.sweepDelayMs);
  parts.jobRecovery.start(options.jobRecoveryDelayMs);
}

/** Resolves once every part has stopped taking work and finished what it had under way (boundedShutdown bounds the wait). */
function stopParts(parts: Parts, http: HttpServer, timeoutMs: number): Promise<unknown> {
  return Promise.allSettled([parts.reconciler.shutdown(timeoutMs), parts.runnerUpdates.stop(), parts.sweeper.stop(), parts.jobRecovery.stop(), http.close()]);
}
