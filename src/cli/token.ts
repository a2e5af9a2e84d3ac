// `runnerd token set SCOPE` (stdin), `token set --ssh-key NAME` (an SSH forced command taking the
// scope from SSH_ORIGINAL_COMMAND) and `runnerd token show`.
import type { Command } from "commander";
import { parseScopeKey, poolScopeKey, scopeKey, type Config } from "../config/index.js";
import { scopeForSshKey, sshTokenSource } from "../credentials/ssh-push.js";
import { clampNote, maxTokenInputBytes, parseTokenInput } from "../credentials/token-input.js";
import { nudgeDaemon } from "../daemon/state-files.js";
import { UsageError } from "../errors.js";
import { openStore } from "../store/index.js";
import { loadCliConfig, type GlobalOptions } from "./context.js";
import { humanDuration, printJson, table } from "./output.js";

export function registerTokenCommands(program: Command): void {
  const token = program.command("token").description("registration tokens pushed for runner scopes (push mode)");
  token
    .command("set")
    .argument("[scope]", "repo:owner/name, org:name, or owner/name (not with --ssh-key)")
    .option("--ssh-key <name>", "as an SSH forced command: the scope is what the client asked to run (SSH_ORIGINAL_COMMAND), one of those listed under ssh_keys.NAME")
    .description("store a registration token read from stdin: GitHub's JSON response or the bare token")
    .action(async (scopeArg: string | undefined, opts: { sshKey?: string }) => {
      const { path, config } = loadCliConfig(program.opts<GlobalOptions>());
      const scope = requestedScope(config, path, scopeArg, opts.sshKey);
      const known = new Set(config.pools.map(poolScopeKey));
      // A forced SSH command takes input from outside: only scopes this server serves are stored.
      if (!known.has(scope)) throw new UsageError(`token set: scope ${scope} is not used by any pool in ${path} (configured: ${[...known].join(", ")})`);
      const pushed = parseTokenInput(await readStdin(maxTokenInputBytes), new Date());
      const source = pushSource(opts.sshKey);
      const note = clampNote(pushed);
      const store = openStore(config.state_dir);
      try {
        store.setToken(scope, pushed.token, pushed.expiresAt, source);
        store.addEvent({ level: "info", kind: "token-set", message: `registration token for ${scope} stored (expires ${pushed.expiresAt.toISOString()}, from ${source})${note ? `; ${note}` : ""}` });
      } finally {
        store.close();
      }
      if (note !== undefined) console.error(`token set: ${note}; is the sender's clock right?`);
      const nudged = nudgeDaemon(config.state_dir);
      console.log(`stored registration token for ${scope}; expires ${pushed.expiresAt.toISOString()} (in ${humanDuration(pushed.expiresAt.getTime() - Date.now())})${nudged ? "; daemon notified" : ""}`);
    });
  token
    .command("show")
    .option("--json", "machine-readable output")
    .description("list stored tokens with their expiry (never the token itself)")
    .action((opts: { json?: boolean }) => {
      const { config } = loadCliConfig(program.opts<GlobalOptions>());
      const store = openStore(config.state_dir);
      const tokens = store.listTokens();
      store.close();
      const now = Date.now();
      if (opts.json) {
        printJson(tokens.map((t) => ({ scope: t.scope, expires_at: t.expiresAt.toISOString(), seconds_left: Math.round((t.expiresAt.getTime() - now) / 1000), updated_at: t.updatedAt.toISOString(), source: t.source })));
        return;
      }
      if (tokens.length === 0) {
        console.log("no tokens stored; push one with: runnerd token set SCOPE < token.json");
        return;
      }
      const rows = tokens.map((t) => {
        const left = t.expiresAt.getTime() - now;
        return [t.scope, left > 0 ? `in ${humanDuration(left)}` : `expired ${humanDuration(left)} ago`, `${humanDuration(now - t.updatedAt.getTime())} ago`, t.source];
      });
      console.log(table(["SCOPE", "EXPIRES", "PUSHED", "SOURCE"], rows));
    });
}

/** The scope key from the argument, or with --ssh-key from what the SSH client asked to run. */
function requestedScope(config: Config, path: string, scopeArg: string | undefined, sshKey: string | undefined): string {
  // With --ssh-key the client names the scope; a fixed one as well would blur what the key may do.
  if (sshKey !== undefined && scopeArg !== undefined) throw new UsageError("token set: give either SCOPE or --ssh-key, not both (with --ssh-key the scope comes from SSH_ORIGINAL_COMMAND)");
  if (sshKey !== undefined) return scopeForSshKey(config, path, sshKey, process.env.SSH_ORIGINAL_COMMAND);
  if (scopeArg === undefined) throw new UsageError("token set: missing SCOPE (repo:owner/name, org:name or owner/name)");
  return scopeKey(parseScopeKey(scopeArg));
}

function pushSource(sshKey: string | undefined): string {
  const connection = process.env.SSH_CONNECTION;
  if (sshKey !== undefined) return sshTokenSource(sshKey, connection);
  return connection ? `ssh:${connection.split(" ")[0] ?? "?"}` : "cli";
}

async function readStdin(limit: number): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError("token set: reads the token from stdin, e.g. `runnerd token set repo:owner/name < token.json`");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > limit) throw new UsageError(`token set: more than ${limit} bytes on stdin`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}
