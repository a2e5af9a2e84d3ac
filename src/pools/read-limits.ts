// Bounds on every file runnerd reads from a runner's instance. The job is root there: it can
// replace any of these with a huge file or a FIFO, and LXD opens a FIFO and waits for a writer
// (canonical/lxd lxd/instance_file.go instanceFileGet: Lstat, then Open whatever is not a
// directory or symlink; measured on LXD 5.0.2: `lxc file pull` of a FIFO never returns). So
// each read has a deadline and a size cap, and a read that timed out is not retried.

export interface ReadBounds {
  timeoutMs: number;
  maxBytes: number;
}

/** The agent's status file, read on passes while the runner lives: a few hundred bytes. */
export const statusRead: ReadBounds = { timeoutMs: 5_000, maxBytes: 16 * 1024 };
/** result.json: well under a kilobyte. */
export const resultRead: ReadBounds = { timeoutMs: 5_000, maxBytes: 64 * 1024 };
/**
 * The agent's log bundle (runner _diag included): a job can make it large. Streamed to disk and
 * cut at `logs_retention.max_runner_mib` (the maxBytes here is only the default of that).
 */
export const logArchiveRead: ReadBounds = { timeoutMs: 20_000, maxBytes: 64 * 1024 * 1024 };
/** A loose log, read when the agent did not get as far as bundling; cut like the bundle. */
export const looseLogRead: ReadBounds = { timeoutMs: 5_000, maxBytes: 8 * 1024 * 1024 };
/** What collecting one runner may spend on reads in all, retries included. */
export const collectReadBudgetMs = 30_000;
