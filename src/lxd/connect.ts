// Connects to LXD as the configuration says: a unix socket (given or auto-detected) or HTTPS
// with a client certificate and, optionally, a pinned server certificate.
import { readFileSync } from "node:fs";
import type { LxdConfig } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { createLxdClient, detectLxdSocket, type HostResources, type LxdClient, type LxdClientOptions, type ServerInfo } from "./index.js";

export interface ConnectedLxd {
  client: LxdClient;
  port: LxdClient;
  /** "unix:/var/lib/lxd/unix.socket" or the URL, for logs and doctor. */
  description: string;
  /** What answered when connecting: LXD or Incus, its version, its extensions. */
  server: ServerInfo;
  /** "incus 6.0.4 at unix:/var/lib/incus/unix.socket", for status and doctor. */
  backend: string;
  /** The host's CPUs and memory, which runners' default limits derive from; null when LXD would not say. */
  host: HostResources | null;
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

/**
 * Creates the client and checks that LXD answers, so a wrong address fails at start. `host`: also
 * read the host's size (the daemon and doctor derive runner limits from it); a server that does
 * not say within 5 s gives null, and the limits fall back to shares LXD resolves itself.
 */
export async function connectLxd(config: LxdConfig, opts: { host?: boolean } = {}): Promise<ConnectedLxd> {
  const { options, description } = lxdClientOptions(config);
  const client = createLxdClient(options);
  const host = opts.host ? client.hostResources({ timeoutMs: 5_000 }).catch(() => null) : Promise.resolve(null);
  const [server] = await Promise.all([client.serverInfo(), host]);
  return { client, port: client, description, server, backend: `${server.backend} ${server.serverVersion} at ${description}`, host: await host };
}

function readPem(path: string | undefined, field: string): string {
  if (!path) throw new ConfigError(`${field} is required when lxd.url is set`);
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(err as Error).message}`);
  }
}
