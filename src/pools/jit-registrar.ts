// The reconciler's RegistrarPort over the GitHub clients: JIT configs with the pool's labels and
// runner group, and deletion of registrations.
import { parseScopeKey } from "../config/index.js";
import type { GitHubClients } from "../github/clients.js";
import type { ConnectionClient } from "../github/connection-client.js";
import { jitLabels } from "../github/jit-labels.js";
import type { RegistrarPort } from "./ports.js";
import type { PoolRuntime } from "./settings.js";

export class JitRegistrar implements RegistrarPort {
  constructor(
    private readonly clients: () => GitHubClients,
    private readonly controllerId: () => string,
  ) {}

  async jitConfig(pool: PoolRuntime, name: string): Promise<{ runnerId: number; encodedJitConfig: string }> {
    const client = this.client(pool.connection);
    // Repositories have only the default group (id 1); an org's group is looked up by name, cached.
    const runnerGroupId = pool.scopeRef.type === "org" ? await client.runnerGroupId(pool.scopeRef.org, pool.runnerGroup ?? "Default") : 1;
    return client.generateJitConfig(pool.scopeRef, { name, labels: jitLabels(pool.labels, this.controllerId(), process.arch, pool.defaultLabels), runnerGroupId });
  }

  async deleteRegistration(registration: { connection: string; scope: string; runnerId: number }): Promise<"deleted" | "gone" | "busy"> {
    return this.client(registration.connection).deleteRegistration(parseScopeKey(registration.scope), registration.runnerId);
  }

  private client(connection: string): ConnectionClient {
    const loaded = this.clients().get(connection);
    if (!loaded) throw new Error(`no GitHub client for connection ${connection} (is it an app or pat connection?)`);
    return loaded.client;
  }
}
