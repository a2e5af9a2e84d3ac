// GitHub's refusals, told so an operator knows what to change. The class lives with the other
// failure classes; it is re-exported here for the GitHub modules.
import { GitHubError } from "../errors.js";

export { GitHubError };

/** Wraps an Octokit failure: `what` says what runnerd tried, `hint` what a 401/403/404 usually means. */
export function gitHubError(err: unknown, what: string, hint?: { [status: number]: string }): GitHubError {
  if (err instanceof GitHubError) return err;
  if (isRequestError(err)) {
    const data = err.response?.data as { message?: unknown } | undefined;
    const message = typeof data?.message === "string" ? data.message : err.message;
    const extra = hint?.[err.status] ? ` (${hint[err.status]})` : "";
    return new GitHubError(`GitHub refused to ${what}: ${err.status} ${message}${extra}`, err.status, { cause: err });
  }
  const cause = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
  return new GitHubError(`could not reach GitHub to ${what}: ${cause}`, 0, { cause: err });
}

/** Octokit's RequestError, recognised by shape (the class lives in a transitive package). */
function isRequestError(err: unknown): err is Error & { status: number; response?: { data?: unknown } } {
  return err instanceof Error && err.name === "HttpError" && typeof (err as { status?: unknown }).status === "number";
}
