// Reads the secret files of app and pat connections. A secret other users could read, or one a
// different user could swap, is refused before it is ever used: runnerd will not start with it.
// Messages name the file and the fix, never its content.
import { createPrivateKey } from "node:crypto";
import { closeSync, fstatSync, openSync, readFileSync, constants } from "node:fs";
import { ConfigError } from "../errors.js";

/** Larger than any PAT or RSA key; a bigger file is not what the field expects. */
const maxSecretBytes = 64 * 1024;

export interface SecretFileOptions {
  /** Config path of the field, e.g. `github.main.auth.token_file`, for the message. */
  field: string;
  /** The uid that must own the file; defaults to this process's effective uid. */
  uid?: number;
}

/** The file's text, after checking it is a regular file, owned by runnerd's user and mode 0600 or stricter. */
export function readSecretFile(path: string, options: SecretFileOptions): string {
  const uid = options.uid ?? process.geteuid?.() ?? 0;
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink could point anywhere; the checks below must be about the file read.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable by runnerd's user" : code === "ELOOP" ? "is a symbolic link; point the config at the file itself" : `cannot be opened (${code ?? "error"})`;
    throw new ConfigError(`${options.field}: ${path} ${why}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigError(`${options.field}: ${path} is not a regular file`);
    if (stat.uid !== uid) {
      throw new ConfigError(`${options.field}: ${path} is owned by uid ${stat.uid}, not by runnerd's user (uid ${uid}); run: chown ${uid} ${path}`);
    }
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
      throw new ConfigError(`${options.field}: ${path} has mode ${mode}, so other users can read or change it; run: chmod 600 ${path}`);
    }
    if (stat.size > maxSecretBytes) throw new ConfigError(`${options.field}: ${path} is ${stat.size} bytes; a secret file is at most ${maxSecretBytes}`);
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

/** A PAT: one line of token characters (a trailing newline is fine). */
export function readTokenFile(path: string, options: SecretFileOptions): string {
  const token = readSecretFile(path, options).trim();
  if (token === "") throw new ConfigError(`${options.field}: ${path} is empty`);
  if (!/^[A-Za-z0-9_]{20,255}$/.test(token)) {
    throw new ConfigError(`${options.field}: ${path} does not hold a GitHub token (one line of letters, digits and '_', such as ghp_… or github_pat_…)`);
  }
  return token;
}

/** A GitHub App private key (PEM, PKCS#1 as GitHub hands it out, or PKCS#8). */
export function readPrivateKeyFile(path: string, options: SecretFileOptions): string {
  const pem = readSecretFile(path, options);
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "rsa") throw new Error(`a ${key.asymmetricKeyType ?? "non-RSA"} key`);
  } catch (err) {
    throw new ConfigError(`${options.field}: ${path} is not an RSA private key in PEM form, as GitHub issues for apps (${(err as Error).message.split("\n")[0]})`);
  }
  return pem;
}
