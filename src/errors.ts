// The project's failure classes, one classifier that tells a failure worth retrying soon from
// one that retrying cannot fix, and the message of any thrown value.

/** A configuration file is wrong; `issues` lists every problem with its place. */
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
  /** Dotted field path, e.g. `pools[0].runners.floor`. */
  path: string;
  message: string;
}

/** The command line is wrong: an unknown flag, a missing argument, flags that do not go together. */
export class UsageError extends Error {
  override readonly name = "UsageError";
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

/** GitHub refused a request, or could not be reached. */
export class GitHubError extends Error {
  override readonly name = "GitHubError";
  constructor(
    message: string,
    /** HTTP status; 0 when GitHub was not reached. */
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

/**
 * A spawn that failed; `leftover` is true when its instance could not be removed (a later pass
 * collects it). The cause says what failed; the classifier looks through to it.
 */
export class SpawnFailed extends Error {
  override readonly name = "SpawnFailed";
  constructor(
    message: string,
    readonly leftover: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type FailureSource = "lxd" | "github" | "other";

export interface FailureClass {
  source: FailureSource;
  /** True when the same request may well succeed soon (a timeout, a 5xx); false when it will not. */
  transient: boolean;
}

/**
 * Where a failure came from and whether retrying soon makes sense. The first known class along
 * the `cause` chain decides (wrappers such as SpawnFailed carry the real failure as their cause);
 * anything unknown is taken as transient, so it is retried with backoff rather than given up on.
 */
export function classifyFailure(err: unknown): FailureClass {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof LxdError) return { source: "lxd", transient: e.status === 0 || e.status >= 500 };
    if (e instanceof GitHubError) return { source: "github", transient: e.status === 0 || e.status === 429 || e.status >= 500 };
    if (e instanceof ConfigError || e instanceof TerminalError || e instanceof UsageError) return { source: "other", transient: false };
  }
  return { source: "other", transient: true };
}

/** The message of any thrown value, for logs and status. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
