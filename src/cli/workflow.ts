// `runnerd workflow print`: the GitHub Actions workflow that keeps a push-mode scope's
// registration token fresh, rendered from this server's configuration so that audience, scope
// and key names match what runnerd will check.
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { parseScopeKey, poolScopeKey, scopeKey, type Config, type GitHubConnection, type PushAuth } from "../config/index.js";
import { renderRenewalWorkflow, type RenewalWorkflowInput } from "../credentials/renewal-workflow.js";
import { UsageError } from "../errors.js";
import { loadCliConfig, type GlobalOptions } from "./context.js";

interface PrintOptions {
  scope: string;
  via: "oidc" | "ssh";
  url?: string;
  sshTarget?: string;
  sshKeyName?: string;
}

export function registerWorkflowCommands(program: Command): void {
  const workflow = program.command("workflow").description("GitHub Actions workflows that push registration tokens to runnerd (push mode)");
  workflow
    .command("print")
    .description("print a workflow renewing SCOPE's registration token every 30 minutes, to commit under .github/workflows/")
    .requiredOption("--scope <scope>", "a configured pool's scope: repo:owner/name, org:name or owner/name")
    .addOption(new Option("--via <how>", "how the token reaches runnerd: HTTPS with the job's OIDC token, or SSH").choices(["oidc", "ssh"]).makeOptionMandatory())
    .option("--url <url>", "oidc: runnerd's public https:// URL (default: the repository variable RUNNERD_URL)")
    .option("--ssh-target <user@host>", "ssh: the runnerd server (default: the repository variable RUNNERD_HOST)")
    .option("--ssh-key-name <name>", "ssh: the key under ssh_keys in the config (default: the only key allowed the scope)")
    .action((opts: PrintOptions) => {
      const { path, config } = loadCliConfig(program.opts<GlobalOptions>());
      process.stdout.write(renderRenewalWorkflow(renewalInput(config, resolve(path), opts)));
    });
}

function renewalInput(config: Config, path: string, opts: PrintOptions): RenewalWorkflowInput {
  if (opts.via === "oidc" && (opts.sshTarget !== undefined || opts.sshKeyName !== undefined)) throw new UsageError("workflow print: --ssh-target and --ssh-key-name go with --via ssh");
  if (opts.via === "ssh" && opts.url !== undefined) throw new UsageError("workflow print: --url goes with --via oidc");
  const scope = scopeKey(parseScopeKey(opts.scope));
  const pool = config.pools.find((p) => poolScopeKey(p) === scope);
  if (!pool) throw new UsageError(`workflow print: scope ${scope} is not used by any pool in ${path} (configured: ${[...new Set(config.pools.map(poolScopeKey))].join(", ")})`);
  const connection = config.github[pool.connection] as GitHubConnection;
  const auth = connection.auth;
  if (auth.type !== "push") throw new UsageError(`workflow print: ${scope} is served by connection "${connection.name}" with auth type ${auth.type}; only push connections need tokens pushed`);
  const base = { scope: pool.scope, apiUrl: connection.api_url, connection: connection.name };
  if (opts.via === "ssh") return { ...base, via: { kind: "ssh", target: opts.sshTarget, keyName: sshKeyFor(auth, connection.name, scope, opts.sshKeyName, path), configPath: path } };
  const at = `github.${connection.name}.auth.oidc`;
  if (!auth.oidc) throw new UsageError(`workflow print: connection "${connection.name}" takes no HTTPS push: add ${at} (audience and allow rules) to ${path}`);
  // A workflow no rule admits would fail every half hour; say so now.
  if (!auth.oidc.allow.some((rule) => rule.scopes.includes(scope))) throw new UsageError(`workflow print: no rule under ${at}.allow in ${path} lists ${scope}; runnerd would refuse the push`);
  return { ...base, via: { kind: "oidc", audience: auth.oidc.audience, url: opts.url } };
}

/** The key named, if allowed the scope, or else the only key allowed it. */
function sshKeyFor(auth: PushAuth, connection: string, scope: string, requested: string | undefined, path: string): string {
  const at = `github.${connection}.auth.ssh_keys`;
  if (requested !== undefined) {
    const scopes = Object.hasOwn(auth.ssh_keys, requested) ? auth.ssh_keys[requested] : undefined;
    if (!scopes) throw new UsageError(`workflow print: ssh key "${requested}" is not configured under ${at} in ${path}`);
    if (!scopes.includes(scope)) throw new UsageError(`workflow print: ssh key "${requested}" may not push tokens for ${scope} (allowed: ${scopes.join(", ")})`);
    return requested;
  }
  const keys = Object.entries(auth.ssh_keys).filter(([, scopes]) => scopes.includes(scope)).map(([name]) => name);
  if (keys.length === 0) throw new UsageError(`workflow print: no ssh key may push tokens for ${scope}: add ${at}.NAME: [${scope}] to ${path}`);
  if (keys.length > 1) throw new UsageError(`workflow print: several ssh keys may push tokens for ${scope} (${keys.join(", ")}): choose one with --ssh-key-name`);
  return keys[0] as string;
}
