// Periodic clean-up: runner logs on the host within logs_retention, and job history older than
// 30 days. Runs shortly after start and then every few minutes; failures are logged, never fatal.
import { join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { describeError } from "../errors.js";
import { pruneRunnerLogs } from "../pools/log-retention.js";
import type { Store } from "../store/index.js";
import { PeriodicTask } from "../schedule/periodic-task.js";

const intervalMs = 5 * 60_000;
const jobHistoryMs = 30 * 24 * 3_600_000;

export function startHousekeeping(deps: { config(): Config; store: Pick<Store, "pruneJobs">; logger: Logger }): { stop(): void; run(): void } {
  const run = () => {
    const config = deps.config();
    try {
      const logs = pruneRunnerLogs(join(config.state_dir, "logs"), { count: config.logs_retention.count, maxBytes: config.logs_retention.max_mib * 1024 * 1024 });
      if (logs.removed.length > 0) deps.logger.info({ removed: logs.removed.length, keptMiB: Math.round(logs.keptBytes / 2 ** 20) }, "old runner logs removed");
      for (const failed of logs.failed) deps.logger.warn({ runner: failed.name, err: failed.error }, "removing old runner logs failed");
      const jobs = deps.store.pruneJobs(jobHistoryMs);
      if (jobs > 0) deps.logger.info({ removed: jobs }, "job history older than 30 days removed");
    } catch (err) {
      deps.logger.warn({ err: describeError(err) }, "housekeeping failed; trying again later");
    }
  };
  const task = new PeriodicTask(async () => run(), () => intervalMs);
  task.start(30_000);
  return {
    run,
    stop() {
      void task.stop();
    },
  };
}
