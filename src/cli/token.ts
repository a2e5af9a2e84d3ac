// `runnerd token set SCOPE` (stdin; also an SSH forced command) and `runnerd token show`.
import type { Command } from "commander";
import { parseScopeKey, scopeKey } from "../config/index.js";
import { maxTokenInputBytes, parseTokenInput } from "../credentials/token-input.js";
import { nudgeDaemon } from "../daemon/state-files.js";
import { poolScopeKey } from "../daemon/reconciler-settings.js";
import { ConfigError } from "../errors.js";
import { openStore } from "../store/index.js";
import { loadCliConfig, type GlobalOptions } from "./context.js";
import { humanDuration, printJson, table } from "./output.js";

export function registerTokenCommands(program: Command): void {
  const token = program.command("token").description("registration tokens pushed for runner scopes (push mode)");
  token
    .command("set")
    .argument("<scope>", "repo:owner/name, org:name, or owner/name")
    .description("store a registration token read from stdin: GitHub's JSON response or the bare token")
    .action(async (scopeArg: string) => {
      const { path, config } = loadCliConfig(program.opts<GlobalOptions>());
      const scope = scopeKey(parseScopeKey(scopeArg));
      const known = new Set(config.pools.map(poolScopeKey));
      // A forced SSH command takes input from outside: only scopes this server serves are stored.
      if (!known.has(scope)) throw new ConfigError(`token set: scope ${scope} is not used by any pool in ${path} (configured: ${[...known].join(", ")})`);
      const pushed = parseTokenInput(await readStdin(maxTokenInputBytes), new Date());
      const source = process.env.SSH_CONNECTION ? `ssh:${process.env.SSH_CONNECTION.split(" ")[0] ?? "?"}` : "cli";
      const store = openStore(config.state_dir);
      try {
        store.setToken(scope, pushed.token, pushed.expiresAt, source);
        store.addEvent({ level: "info", kind: "token-set", message: `registration token for ${scope} stored (expires ${pushed.expiresAt.toISOString()}, from ${source})` });
      } finally {
        store.close();
      }
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

async function readStdin(limit: number): Promise<string> {
  if (process.stdin.isTTY) throw new ConfigError("token set: reads the token from stdin, e.g. `runnerd token set repo:owner/name < token.json`");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > limit) throw new ConfigError(`token set: more than ${limit} bytes on stdin`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}
