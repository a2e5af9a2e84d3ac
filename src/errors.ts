// The project's few error kinds, and the one place that decides whether an error is worth retrying.

/** A configuration file or flag is wrong; `issues` lists every problem with its place. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    readonly issues: readonly ConfigIssue[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted field path, e.g. `pools[0].runners.idle`. */
  path: string;
  message: string;
}

/** LXD answered with an error, or could not be reached. */
export class LxdError extends Error {
  override readonly name = "LxdError";
  constructor(
    message: string,
    /** HTTP status LXD answered with; 0 when LXD was not reached at all. */
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** GitHub (or the emulator) answered with an error, or could not be reached. */
export class GitHubError extends Error {
  override readonly name = "GitHubError";
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions & { retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
  readonly retryAfterSeconds: number | undefined;
}

/** A failure that retrying cannot fix: record it and move on. */
export class TerminalError extends Error {
  override readonly name = "TerminalError";
}

const transientCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOENT", "EAI_AGAIN", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** Network trouble, 429 and 5xx are worth another try; everything else is not. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TerminalError || err instanceof ConfigError) return false;
  if (err instanceof LxdError || err instanceof GitHubError) {
    return err.status === 0 || err.status === 429 || err.status >= 500;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && transientCodes.has(code)) return true;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== err ? isTransient(cause) : false;
}

/** The message of any thrown value, for logs and status. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
