// Wiring: builds the parts from the configuration, starts the reconcile loop and the LXD event
// subscription, and handles reload and shutdown. Signals are mapped to these by `runnerd up`.
import type { Logger } from "pino";
import { readAgentScript } from "../agent/index.js";
import { loadConfig, type Config } from "../config/index.js";
import { describeError } from "../errors.js";
import { createLogger } from "../log.js";
import { Reconciler, type ReconcilerStatus } from "../pools/reconciler.js";
import { openStore, type Store } from "../store/index.js";
import { loadGitHubClients, type GitHubClients } from "../github/clients.js";
import { JitRegistrar } from "./jit-registrar.js";
import { connectLxd, type ConnectedLxd } from "./lxd-connection.js";
import { RegistrationSweeper } from "./registration-sweeper.js";
import { createOidcVerifierCache, registrationTokenRoutes, startHttpServer, type HttpServer } from "../http/index.js";
import { reconcilerSettings } from "./reconciler-settings.js";
import { RunnerUpdateWatcher } from "./runner-updates.js";
import { credentialHealth } from "../credentials/health.js";
import { connectionFacts, githubReports } from "./github-report.js";
import { createMetricsRegistry, metricsRoutes } from "../http/metrics.js";
import { RunnerMetrics } from "../http/runner-metrics.js";
import { statusPageRoutes } from "../http/status-page.js";
import { webhookRoutes } from "../http/webhooks.js";
import { readWebhookSecrets } from "../credentials/webhook-secrets.js";
import { startHousekeeping } from "./housekeeping.js";
import { handleJobEvent } from "./job-events.js";
import { JobRecovery } from "./job-recovery.js";
import type { JobRecord } from "../jobs/types.js";
import { DEMAND_MAX_AGE_MS } from "../jobs/demand.js";
import { statusPageSnapshot } from "./status-page-data.js";
import { claimPidFile, releasePidFile, writeStatusFile } from "./state-files.js";

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
  /** runnerd's HTTP server (token push, health). */
  readonly http: HttpServer;
  /** GitHub clients of the app and pat connections, by connection name. */
  githubClients(): GitHubClients;
  readonly logger: Logger;
  config(): Config;
  /** Loads the file again; an invalid file is refused and logged, the old config keeps running. */
  reload(): boolean;
  shutdown(): Promise<void>;
}

const stopActions = new Set(["instance-stopped", "instance-shutdown", "instance-deleted"]);

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  let config = loadConfig(options.configPath);
  const logger = options.logger ?? createLogger(config.log_level);
  const now = options.now ?? Date.now;
  // Secret files are checked before anything else: a world-readable key refuses the start.
  let githubClients = loadGitHubClients(config, logger);
  let webhookSecrets = readWebhookSecrets(config);
  claimPidFile(config.state_dir);
  const startedAt = now();
  let store: Store | undefined;
  let lxd: ConnectedLxd | undefined;
  try {
    store = openStore(config.state_dir);
    lxd = await connectLxd(config.lxd);
    logger.info({ lxd: lxd.description, pools: config.pools.map((p) => p.name) }, "connected to LXD");
  } catch (err) {
    store?.close();
    releasePidFile(config.state_dir);
    throw err;
  }
  const openedStore = store;
  const client = lxd;

  const settingsFor = (c: Config) => reconcilerSettings(c);
  // Made before the reconciler, which reports to it; read lazily, so the order does not matter.
  const registry = createMetricsRegistry({
    credentials: () => credentialHealth(config, openedStore.listTokens(), connectionFacts(githubReports(githubClients)), now()),
    github: () => githubReports(githubClients, true),
    now,
  });
  const lastStatus = (): ReconcilerStatus | undefined => reconciler.status();
  const runnerMetrics: RunnerMetrics = new RunnerMetrics(registry, { runners: () => lastStatus()?.runners ?? [], pools: () => lastStatus()?.pools ?? [] });
  const statusListeners = new Set<() => void>();

  const reconciler: Reconciler = new Reconciler(
    {
      lxd: client.port,
      tokens: openedStore,
      registrar: new JitRegistrar(() => githubClients, () => config.controller_id),
      history: openedStore,
      demand: () => openedStore.queuedDemand(now(), DEMAND_MAX_AGE_MS),
      observer: runnerMetrics,
      logger,
      now,
      agentScript: readAgentScript(),
      onStatus: () => {
        writeStatus();
        for (const notify of statusListeners) notify();
      },
    },
    settingsFor(config),
  );
  const runnerUpdates = new RunnerUpdateWatcher({
    lxd: client.client,
    logger: logger.child({ task: "runner-updates" }),
    config: () => config,
    now,
    addEvent: (event) => openedStore.addEvent(event),
    onReport: () => writeStatus(),
  });
  const sweeper = new RegistrationSweeper({
    lxd: client.port,
    clients: () => githubClients,
    config: () => config,
    inFlight: () => reconciler.inFlightNames(),
    logger: logger.child({ task: "registration-sweep" }),
    now,
    addEvent: (event) => openedStore.addEvent(event),
  });
  let httpUrl: string | undefined = undefined; // set once the server listens
  function writeStatus(): void {
    const status = reconciler.status();
    if (!status) return;
    try {
      const github = githubReports(githubClients);
      writeStatusFile(config.state_dir, {
        version: 1,
        pid: process.pid,
        startedAt,
        configPath: options.configPath,
        ...status,
        images: runnerUpdates.status(),
        credentials: credentialHealth(config, openedStore.listTokens(), connectionFacts(github), now()),
        github,
        ...(sweeper.status() ? { sweep: sweeper.status() } : {}),
        ...(httpUrl ? { http: { url: httpUrl } } : {}),
      });
    } catch (err) {
      logger.warn({ err: describeError(err) }, "writing status.json failed");
    }
  }

  const events = client.client.subscribeEvents({
    types: ["lifecycle"],
    onEvent: (event) => {
      const action = (event.metadata as { action?: string } | undefined)?.action;
      if (action && stopActions.has(action)) reconciler.requestPass(action);
    },
    onError: (err) => logger.warn({ err: describeError(err) }, "LXD event stream failed; reconnecting"),
    // Events may have been missed while disconnected: look at the whole world again.
    onReconnect: () => reconciler.requestPass("event stream reconnected"),
  });
  const jobEventDeps = {
    config: () => config,
    store: openedStore,
    runners: () => reconciler.status()?.runners ?? [],
    requestPass: (reason: string) => reconciler.requestPass(reason),
    jobChanged: (before: JobRecord | undefined, after: JobRecord) => runnerMetrics.jobChanged(before, after),
    logger,
  };
  const jobRecovery = new JobRecovery({
    clients: () => githubClients,
    config: () => config,
    store: openedStore,
    handle: (event) => handleJobEvent(event, jobEventDeps),
    logger: logger.child({ task: "job-recovery" }),
    now,
  });
  // Created once: rate limits and seen OIDC token ids must survive config reloads.
  let http: HttpServer;
  try {
    http = await startHttpServer({
      listen: config.http.listen,
      trustProxy: config.http.trust_proxy,
      logger: logger.child({ task: "http" }),
      routes: [
        metricsRoutes(registry),
        webhookRoutes({
          config: () => config,
          secrets: () => webhookSecrets,
          logger: logger.child({ task: "webhooks" }),
          now,
          onDelivery: (outcome) => runnerMetrics.webhookDelivery(outcome),
          onJobEvent: (event) => handleJobEvent(event, jobEventDeps),
        }),
        statusPageRoutes({
          snapshot: () => statusPageSnapshot({ config: () => config, reconciler, store: openedStore, lxd: client.client, github: () => githubReports(githubClients), now, startedAt }),
          subscribe: (notify) => {
            statusListeners.add(notify);
            return () => statusListeners.delete(notify);
          },
        }),
        registrationTokenRoutes({
          config: () => config,
          store: openedStore,
          logger: logger.child({ task: "token-push" }),
          now: () => new Date(now()),
          verifiers: createOidcVerifierCache(),
          onTokenStored: (scope) => reconciler.requestPass(`token pushed for ${scope}`),
        }),
      ],
    });
  } catch (err) {
    events.close();
    openedStore.close();
    await client.client.close?.();
    releasePidFile(config.state_dir);
    throw err;
  }
  httpUrl = http.url;
  logger.info({ url: http.url }, "HTTP server listening");
  reconciler.start();
  runnerUpdates.start(options.runnerCheckDelayMs);
  sweeper.start(options.sweepDelayMs);
  jobRecovery.start(options.jobRecoveryDelayMs);
  const housekeeping = startHousekeeping({ config: () => config, store: openedStore, logger: logger.child({ task: "housekeeping" }) });
  openedStore.addEvent({ level: "info", kind: "daemon-started", message: `runnerd started with ${config.pools.length} pool(s)` });

  return {
    reconciler,
    runnerUpdates,
    sweeper,
    jobRecovery,
    http,
    store: openedStore,
    githubClients: () => githubClients,
    logger,
    config: () => config,
    reload: () => {
      let next: Config;
      let nextClients: GitHubClients;
      let nextSecrets: Map<string, string>;
      try {
        next = loadConfig(options.configPath);
        // Secrets are read again, so a rotated PAT, key or webhook secret takes effect on reload.
        nextClients = loadGitHubClients(next, logger, githubClients);
        nextSecrets = readWebhookSecrets(next);
      } catch (err) {
        logger.error({ err: describeError(err) }, "new configuration refused; the old one keeps running");
        openedStore.addEvent({ level: "error", kind: "config-refused", message: describeError(err) });
        return false;
      }
      if (next.state_dir !== config.state_dir || next.controller_id !== config.controller_id) {
        const message = "state_dir and controller_id cannot change while running (restart runnerd)";
        logger.error({}, `new configuration refused: ${message}`);
        openedStore.addEvent({ level: "error", kind: "config-refused", message });
        return false;
      }
      if (next.http.listen !== config.http.listen) {
        const message = `http.listen changed to ${next.http.listen}; the server keeps listening on ${httpUrl ?? config.http.listen} until runnerd restarts`;
        logger.warn({}, message);
        openedStore.addEvent({ level: "warn", kind: "config-needs-restart", message });
      }
      config = next;
      githubClients = new Map(nextClients);
      webhookSecrets = nextSecrets;
      logger.level = next.log_level;
      reconciler.updateSettings(settingsFor(next));
      logger.info({ pools: next.pools.map((p) => p.name) }, "configuration reloaded");
      openedStore.addEvent({ level: "info", kind: "config-reloaded", message: `configuration reloaded: ${next.pools.length} pool(s)` });
      return true;
    },
    shutdown: async () => {
      logger.info({}, "shutting down: no new runners; running runners are left alone");
      housekeeping.stop();
      await Promise.all([reconciler.shutdown(), runnerUpdates.stop(), sweeper.stop(), jobRecovery.stop(), http.close()]);
      events.close();
      openedStore.addEvent({ level: "info", kind: "daemon-stopped", message: "runnerd stopped" });
      openedStore.close();
      await client.client.close?.();
      releasePidFile(config.state_dir);
      logger.info({}, "stopped");
    },
  };
}
