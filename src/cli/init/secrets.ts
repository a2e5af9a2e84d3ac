// The secret files init writes (PAT, app private key, webhook secret): where they go, what they
// hold, and that each passes the same check runnerd makes when it starts (mode 0600, owned by
// runnerd's user, a token or key of the right form). Values are never printed.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { readPrivateKeyFile, readSecretFile, readTokenFile } from "../../credentials/secret-file.js";
import { ConfigError } from "../../errors.js";
import type { Answers } from "./answers.js";
import { writeFileAtomic, type Owner } from "./files.js";

export interface SecretWrite {
  /** The config field naming the file, for messages. */
  field: string;
  path: string;
  content: string;
  check: (path: string) => void;
}

/** Answers with the secret files' paths filled in: beside the config unless given. */
export function withSecretPaths(answers: Answers, configPath: string): Answers {
  const dir = dirname(resolve(configPath));
  const github = { ...answers.github };
  if (github.auth === "pat") github.token_file ??= join(dir, "github-pat");
  if (github.auth === "app") github.private_key_file ??= join(dir, "app.pem");
  if (github.webhook_secret !== undefined) github.webhook_secret_file ??= join(dir, "webhook-secret");
  return { ...answers, github };
}

/**
 * The files to write, from the answers' values; a file named without a value must already exist
 * and pass runnerd's own check for `uid` (the user runnerd runs as). Throws naming the field.
 */
export function planSecrets(answers: Answers, env: NodeJS.ProcessEnv, uid: number): SecretWrite[] {
  const g = answers.github;
  const at = `github.${g.name}`;
  const writes: SecretWrite[] = [];
  if (g.auth === "pat" && g.token_file) {
    const field = `${at}.auth.token_file`;
    const value = g.token_env !== undefined ? fromEnv(env, g.token_env) : g.token;
    if (value === undefined) readTokenFile(g.token_file, { field, uid });
    else writes.push({ field, path: g.token_file, content: `${value.trim()}\n`, check: (p) => void readTokenFile(p, { field, uid }) });
  }
  if (g.auth === "app" && g.private_key_file) {
    const field = `${at}.auth.private_key_file`;
    const from = g.private_key_from;
    if (from === undefined || resolve(from) === resolve(g.private_key_file)) readPrivateKeyFile(g.private_key_file, { field, uid });
    else writes.push({ field, path: g.private_key_file, content: readSource(from, "github.private_key_from"), check: (p) => void readPrivateKeyFile(p, { field, uid }) });
  }
  if (g.webhook_secret_file) {
    const field = `${at}.webhook_secret_file`;
    const secret = g.webhook_secret === "generate" ? randomBytes(32).toString("hex") : g.webhook_secret;
    if (secret === undefined) readSecretFile(g.webhook_secret_file, { field, uid });
    else writes.push({ field, path: g.webhook_secret_file, content: `${secret.trim()}\n`, check: (p) => void readSecretFile(p, { field, uid }) });
  }
  return writes;
}

export function writeSecrets(writes: readonly SecretWrite[], owner: Owner | undefined, replace: boolean): void {
  for (const w of writes) writeFileAtomic(w.path, w.content, { mode: 0o600, ...(owner ? { owner } : {}), replace, field: w.field, check: w.check });
}

function fromEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === "") throw new ConfigError(`github.token_env: the environment variable ${name} is not set or empty`);
  return value;
}

function readSource(path: string, field: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
