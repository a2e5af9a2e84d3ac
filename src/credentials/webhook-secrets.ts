// The `workflow_job` webhook secrets of each connection that has one, read from their 0600 files
// (same checks as the other secret files: a secret others can read could forge deliveries). A
// connection may name two during a rotation: GitHub signs with one secret per hook, and the
// operator changes it there at some point after runnerd accepts the new one.
import type { Config } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { readSecretFile, type SecretFileOptions } from "./secret-file.js";

export interface WebhookSecret {
  /** `webhook_secret_file`. */
  readonly current: string;
  /** `webhook_secret_previous_file`, while the hook in GitHub may still sign with it. */
  readonly previous?: string;
}

/** Which of a connection's secrets signed a delivery. */
export type WebhookSecretKind = keyof WebhookSecret;

/** Secrets per connection name; connections without `webhook_secret_file` are left out. */
export function readWebhookSecrets(config: Config, options: Pick<SecretFileOptions, "uid"> = {}): Map<string, WebhookSecret> {
  const secrets = new Map<string, WebhookSecret>();
  for (const connection of Object.values(config.github)) {
    if (connection.webhook_secret_file === undefined) continue;
    const at = `github.${connection.name}`;
    const current = readSecret(connection.webhook_secret_file, `${at}.webhook_secret_file`, options);
    const previousFile = connection.webhook_secret_previous_file;
    const previous = previousFile === undefined ? undefined : readSecret(previousFile, `${at}.webhook_secret_previous_file`, options);
    secrets.set(connection.name, previous === undefined ? { current } : { current, previous });
  }
  return secrets;
}

function readSecret(path: string, field: string, options: Pick<SecretFileOptions, "uid">): string {
  // GitHub uses the secret exactly as typed; a file's trailing newline is not part of it.
  const secret = readSecretFile(path, { ...options, field }).trim();
  if (secret === "") throw new ConfigError(`${field}: ${path} is empty; put the webhook's secret in it`);
  return secret;
}
