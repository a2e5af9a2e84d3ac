// The project's few error kinds, and the message of any thrown value.

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

/** A failure that retrying cannot fix: record it and move on. */
export class TerminalError extends Error {
  override readonly name = "TerminalError";
}

/** The message of any thrown value, for logs and status. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
