// After the config is written: the renewal workflows push mode needs, and the image build and
// `runnerd doctor`, run as runnerd's own commands (as the runnerd user when init runs as root, so
// they see the secret files, the state dir and the backend's socket as the service will).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { scopeKey, type Config } from "../../config/index.js";
import { renderRenewalWorkflow, type RenewalVia } from "../../credentials/renewal-workflow.js";
import { renewalWorkflowPath } from "./to-config.js";

/** Every push connection's workflow per scope and way in, each headed by where to commit it. */
export function renewalWorkflows(config: Config, configPath: string): string[] {
  const out: string[] = [];
  for (const connection of Object.values(config.github)) {
    const auth = connection.auth;
    if (auth.type !== "push") continue;
    const pools = config.pools.filter((pool) => pool.connection === connection.name);
    const scopes = [...new Map(pools.map((pool) => [scopeKey(pool.scope), pool.scope])).values()];
    for (const scope of scopes) {
      const key = scopeKey(scope);
      const vias: RenewalVia[] = [];
      const sshKey = Object.entries(auth.ssh_keys).find(([, allowed]) => allowed.includes(key))?.[0];
      if (sshKey) vias.push({ kind: "ssh", target: undefined, keyName: sshKey, configPath });
      if (auth.oidc?.allow.some((rule) => rule.scopes.includes(key))) vias.push({ kind: "oidc", audience: auth.oidc.audience, url: auth.oidc.audience.startsWith("https://") ? auth.oidc.audience : undefined });
      for (const via of vias) {
        const text = renderRenewalWorkflow({ scope, apiUrl: connection.api_url, connection: connection.name, via });
        out.push(`# ---- ${renewalWorkflowPath(scope)} (${key}, via ${via.kind}) ----\n${text}`);
      }
    }
  }
  return out;
}

export interface RunnerdRunner {
  /** Runs `runnerd ARGS…`, output to this terminal; resolves to its exit code. */
  (args: string[]): number;
}

/**
 * runnerd itself, as this process was started (node and its script), as `user` through runuser
 * when init runs as root and that user is another one.
 */
export function childRunnerd(user: string | undefined): RunnerdRunner {
  const script = process.argv[1] ?? "runnerd";
  const asUser = user !== undefined && user !== "root" && process.geteuid?.() === 0 && existsSync("/usr/sbin/runuser");
  return (args) => {
    const [file, ...rest] = asUser ? ["/usr/sbin/runuser", "-u", user, "--", process.execPath, script, ...args] : [process.execPath, script, ...args];
    const result = spawnSync(file as string, rest, { stdio: ["ignore", "inherit", "inherit"] });
    return result.status ?? 1;
  };
}
