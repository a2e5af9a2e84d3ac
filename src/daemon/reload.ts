// SIGHUP: load the file again. A file that does not load, or that changes what cannot change while
// running, is refused with the reason and the old configuration keeps running untouched: a broken
// config never tears down runners.
import type { Logger } from "pino";
import { formatWarnings, loadConfigWithWarnings, type Config } from "../config/index.js";
import { describeError } from "../errors.js";
import { withSecrets, type ConfigGeneration, type LiveConfig } from "./live-config.js";

export type ReloadResult = { applied: true; pools: string[]; warnings: string[] } | { applied: false; reason: string };

export interface ReloadDeps {
  configPath: string;
  live: LiveConfig;
  logger: Logger;
  addEvent(event: { level: "info" | "warn" | "error"; kind: string; message: string }): void;
  /** Where the HTTP server listens now, if it does. */
  httpUrl(): string | undefined;
  /** Hands the accepted configuration to the parts that follow it (the reconciler). */
  apply(config: Config): void;
}

export function reloadConfig(deps: ReloadDeps): ReloadResult {
  const old = deps.live.config;
  let next: ConfigGeneration;
  let configWarnings: string[];
  try {
    const loaded = loadConfigWithWarnings(deps.configPath);
    configWarnings = formatWarnings(loaded.warnings);
    next = withSecrets(loaded.config, deps.logger, { config: old, githubClients: deps.live.githubClients, webhookSecrets: deps.live.webhookSecrets });
  } catch (err) {
    return refuse(deps, describeError(err));
  }
  if (next.config.state_dir !== old.state_dir || next.config.controller_id !== old.controller_id) {
    return refuse(deps, "state_dir and controller_id cannot change while running (restart runnerd)");
  }
  const restart = restartWarnings(old, next.config, deps.httpUrl());
  for (const message of restart) {
    deps.logger.warn({}, message);
    deps.addEvent({ level: "warn", kind: "config-needs-restart", message });
  }
  for (const message of configWarnings) deps.logger.warn({}, message);
  const warnings = [...configWarnings, ...restart];
  deps.live.replace(next);
  deps.logger.level = next.config.log_level;
  deps.apply(next.config);
  const pools = next.config.pools.map((p) => p.name);
  deps.logger.info({ pools }, "configuration reloaded");
  deps.addEvent({ level: "info", kind: "config-reloaded", message: `configuration reloaded: ${pools.length} pool(s)` });
  return { applied: true, pools, warnings };
}

function refuse(deps: ReloadDeps, reason: string): ReloadResult {
  deps.logger.error({ reason }, "new configuration refused; the old one keeps running");
  deps.addEvent({ level: "error", kind: "config-refused", message: reason });
  return { applied: false, reason };
}

/** Settings a running daemon keeps until it restarts. */
function restartWarnings(old: Config, next: Config, httpUrl: string | undefined): string[] {
  const warnings: string[] = [];
  if (next.http.listen !== old.http.listen) warnings.push(`http.listen changed to ${next.http.listen}; the server keeps listening on ${httpUrl ?? old.http.listen} until runnerd restarts`);
  // fastify takes the proxy trust when the server is built.
  if (JSON.stringify(next.http.trust_proxy) !== JSON.stringify(old.http.trust_proxy)) warnings.push("http.trust_proxy changed; client addresses are taken as before until runnerd restarts");
  return warnings;
}
