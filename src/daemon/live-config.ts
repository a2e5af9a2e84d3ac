// The configuration the daemon runs with now and the secrets read with it. A reload swaps all
// three together, so no part ever sees a new config with the old clients or webhook secrets.
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { readWebhookSecrets, type WebhookSecret } from "../credentials/webhook-secrets.js";
import { loadGitHubClients, type GitHubClients } from "../github/clients.js";

export interface ConfigGeneration {
  readonly config: Config;
  readonly githubClients: GitHubClients;
  readonly webhookSecrets: ReadonlyMap<string, WebhookSecret>;
}

/**
 * Reads the secret files a configuration names. Run before anything else starts: a
 * world-readable key refuses the start; on reload, a rotated PAT, key or webhook secret takes effect.
 */
export function withSecrets(config: Config, logger: Logger, previous?: ConfigGeneration): ConfigGeneration {
  return { config, githubClients: new Map(loadGitHubClients(config, logger, previous?.githubClients)), webhookSecrets: readWebhookSecrets(config) };
}

export class LiveConfig {
  constructor(private current: ConfigGeneration) {}

  get config(): Config {
    return this.current.config;
  }

  get githubClients(): GitHubClients {
    return this.current.githubClients;
  }

  get webhookSecrets(): ReadonlyMap<string, WebhookSecret> {
    return this.current.webhookSecrets;
  }

  replace(next: ConfigGeneration): void {
    this.current = next;
  }
}
