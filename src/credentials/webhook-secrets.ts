// The `workflow_job` webhook secret of each connection that has one, read from its 0600 file
// (same checks as the other secret files: a secret others can read could forge deliveries).
import type { Config } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { readSecretFile, type SecretFileOptions } from "./secret-file.js";

/** Secret per connection name; connections without `webhook_secret_file` are left out. */
export function readWebhookSecrets(config: Config, options: Pick<SecretFileOptions, "uid"> = {}): Map<string, string> {
  const secrets = new Map<string, string>();
  for (const connection of Object.values(config.github)) {
    const path = connection.webhook_secret_file;
    if (path === undefined) continue;
    const field = `github.${connection.name}.webhook_secret_file`;
    // GitHub uses the secret exactly as typed; a file's trailing newline is not part of it.
    const secret = readSecretFile(path, { ...options, field }).trim();
    if (secret === "") throw new ConfigError(`${field}: ${path} is empty; put the webhook's secret in it`);
    secrets.set(connection.name, secret);
  }
  return secrets;
}
