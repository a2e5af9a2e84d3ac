// One ConnectionClient per app/pat connection, built from the config and its secret files. On a
// reload, a connection whose URL and secret did not change keeps its client, and with it the
// cached installation tokens, installation ids and runner group ids.
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { readPrivateKeyFile, readTokenFile } from "../credentials/secret-file.js";
import { ConnectionClient, type GitHubCredential } from "./connection-client.js";

export interface LoadedClient {
  client: ConnectionClient;
  /** Hash of the API URL and the secret: equal means the client can be kept. */
  fingerprint: string;
}

export type GitHubClients = ReadonlyMap<string, LoadedClient>;

/** Reads every app/pat secret; throws a ConfigError naming the field when one is unusable. */
export function loadGitHubClients(config: Config, logger: Logger, previous?: GitHubClients): Map<string, LoadedClient> {
  const clients = new Map<string, LoadedClient>();
  for (const connection of Object.values(config.github)) {
    const auth = connection.auth;
    if (auth.type === "push") continue;
    const field = `github.${connection.name}.auth.${auth.type === "pat" ? "token_file" : "private_key_file"}`;
    const credential: GitHubCredential = auth.type === "pat"
      ? { type: "pat", token: readTokenFile(auth.token_file, { field }) }
      : { type: "app", appId: auth.app_id, privateKey: readPrivateKeyFile(auth.private_key_file, { field }) };
    const secret = credential.type === "pat" ? credential.token : `${credential.appId}\n${credential.privateKey}`;
    const fingerprint = createHash("sha256").update(`${connection.api_url}\n${secret}`).digest("hex");
    const kept = previous?.get(connection.name);
    if (kept && kept.fingerprint === fingerprint) {
      clients.set(connection.name, kept);
      continue;
    }
    const client = new ConnectionClient(credential, { apiUrl: connection.api_url, logger: logger.child({ github: connection.name }) });
    clients.set(connection.name, { client, fingerprint });
  }
  return clients;
}
