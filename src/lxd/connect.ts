// Connects to LXD as the configuration says: a unix socket (given or auto-detected) or HTTPS
// with a client certificate and, optionally, a pinned server certificate.
import { readFileSync } from "node:fs";
import type { LxdConfig } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { createLxdClient, detectLxdSocket, type LxdClient, type LxdClientOptions, type ServerInfo } from "./index.js";

export interface ConnectedLxd {
  client: LxdClient;
  port: LxdClient;
  /** "unix:/var/lib/lxd/unix.socket" or the URL, for logs and doctor. */
  description: string;
  /** What answered when connecting: LXD or Incus, its version, its extensions. */
  server: ServerInfo;
  /** "incus 6.0.4 at unix:/var/lib/incus/unix.socket", for status and doctor. */
  backend: string;
}

export function lxdClientOptions(config: LxdConfig): { options: LxdClientOptions; description: string } {
  const options: LxdClientOptions = { project: config.project };
  if (config.url) {
    options.url = config.url;
    options.clientCert = readPem(config.client_cert, "lxd.client_cert");
    options.clientKey = readPem(config.client_key, "lxd.client_key");
    if (config.server_cert) options.serverCert = readPem(config.server_cert, "lxd.server_cert");
    return { options, description: config.url };
  }
  options.socketPath = config.socket ?? detectLxdSocket();
  return { options, description: `unix:${options.socketPath}` };
}

/** Creates the client and checks that LXD answers, so a wrong address fails at start. */
export async function connectLxd(config: LxdConfig): Promise<ConnectedLxd> {
  const { options, description } = lxdClientOptions(config);
  const client = createLxdClient(options);
  const server = await client.serverInfo();
  return { client, port: client, description, server, backend: `${server.backend} ${server.serverVersion} at ${description}` };
}

function readPem(path: string | undefined, field: string): string {
  if (!path) throw new ConfigError(`${field} is required when lxd.url is set`);
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(err as Error).message}`);
  }
}
