// The SSH forced command `token set --ssh-key NAME`: which scope the client asked for, and
// whether the config lets that key push for it. The key is the only thing sshd vouches for, so
// the scope it may push for comes from the config, never from the client alone.
import { parseScopeKey, scopeKey } from "../config/scope.js";
import type { Config } from "../config/index.js";
import { ConfigError } from "../errors.js";

/**
 * The scope key in SSH_ORIGINAL_COMMAND, which is `SCOPE` or `token set SCOPE`. Anything else
 * (shell syntax, extra words, no command at all) is refused, never interpreted, and never quoted:
 * what the client sent may be anything (a token in the wrong place), and the workflow prints our
 * stderr in its log.
 */
export function scopeFromSshCommand(command: string | undefined): string {
  const text = command?.trim() ?? "";
  if (text === "") {
    throw new ConfigError("token set --ssh-key: no SSH_ORIGINAL_COMMAND: the client must name the scope as its command, e.g. `ssh runnerd@HOST repo:owner/name`");
  }
  const words = text.split(/\s+/);
  const scope = words.length === 1 ? words[0] : words.length === 3 && words[0] === "token" && words[1] === "set" ? words[2] : undefined;
  if (scope === undefined) {
    throw new ConfigError('token set --ssh-key: the ssh command must be SCOPE or "token set SCOPE", e.g. `ssh runnerd@HOST repo:owner/name`');
  }
  try {
    return scopeKey(parseScopeKey(scope));
  } catch (err) {
    // parseScopeKey's message quotes what it was given.
    if (err instanceof ConfigError) throw new ConfigError("token set --ssh-key: invalid scope in the ssh command: expected repo:owner/name, org:name or owner/name");
    throw err;
  }
}

/** Scope keys the named key may push for, over every push connection; undefined when no connection names it. */
export function sshKeyScopes(config: Config, keyName: string): readonly string[] | undefined {
  let scopes: string[] | undefined;
  for (const connection of Object.values(config.github)) {
    if (connection.auth.type !== "push" || !Object.hasOwn(connection.auth.ssh_keys, keyName)) continue;
    scopes = [...(scopes ?? []), ...(connection.auth.ssh_keys[keyName] ?? [])];
  }
  return scopes;
}

/**
 * The scope key a push through key `keyName` is for, given what the client asked to run: the key
 * must be configured (checked first, so a stray key learns nothing more) and allowed that scope.
 */
export function scopeForSshKey(config: Config, configPath: string, keyName: string, command: string | undefined): string {
  const allowed = sshKeyScopes(config, keyName);
  if (allowed === undefined) {
    const known = Object.values(config.github).flatMap((c) => (c.auth.type === "push" ? Object.keys(c.auth.ssh_keys) : []));
    throw new ConfigError(`ssh key "${keyName}" is not configured: list it under github.<connection>.auth.ssh_keys in ${configPath} (configured keys: ${known.join(", ") || "none"})`);
  }
  const scope = scopeFromSshCommand(command);
  if (!allowed.includes(scope)) throw new ConfigError(`ssh key "${keyName}" may not push tokens for ${scope} (allowed: ${allowed.join(", ")})`);
  return scope;
}

/** How the store records a push: which key, from which address. */
export function sshTokenSource(keyName: string, sshConnection: string | undefined): string {
  const address = sshConnection?.trim().split(/\s+/)[0] || "unknown";
  return `ssh:${keyName} from ${address}`;
}
