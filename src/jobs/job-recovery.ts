// Webhooks can be lost (runnerd down, a network hiccup). With a credential on the server (app
// or pat), runnerd lists the queued jobs of each repository it serves, at start and every
// job_recovery_interval, and records those it missed: the jobs of queued runs and of runs in
// progress (a job queued after its `needs:`, or a matrix wider than the runners, sits in a run
// already in progress). It also asks GitHub what became of jobs it still believes queued, so a
// lost in_progress or completed delivery does not hold demand. The work per pass is bounded
// (github/queued-jobs.ts, `maxQuestions`) and its API calls are counted in the report.
// Organisation scopes are not listed (that would mean every repository of the org): their floor
// covers lost webhooks. Push mode has no credential to list with.
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { describeError } from "../errors.js";
import type { GitHubClients } from "../github/clients.js";
import type { ConnectionClient, ListedJob, ListingBounds } from "../github/connection-client.js";
import type { JobEvent, JobStatus } from "../store/job-types.js";
import type { Store } from "../store/index.js";
import { PeriodicTask } from "../schedule/periodic-task.js";

export interface RecoveryReport {
  at: number;
  repositories: number;
  /** Queued jobs runnerd had not heard of. */
  recovered: number;
  /** Jobs runnerd believed queued that GitHub says started, finished or are gone. */
  corrected: number;
  /** Workflow runs (queued or in progress) whose jobs were read. */
  runs: number;
  /** GitHub API calls made on the listed connections during this pass (retries included; other parts' calls meanwhile too). */
  apiCalls: number;
  /** Some runs, jobs or questions were left for the next pass (bounds). */
  truncated: boolean;
  errors: string[];
}

export interface RecoveryDeps {
  clients(): GitHubClients;
  config(): Config;
  store: Pick<Store, "listJobs" | "getJob">;
  /** The same path webhook events take (history, metrics, a pass). */
  handle(event: JobEvent): void;
  logger: Logger;
  now(): number;
  /** Bounds of the listing per repository; github/queued-jobs.ts's defaults unless a test sets them. */
  bounds?: ListingBounds;
}

/** A job queued this recently may simply not have been picked up yet: not worth a question. */
const staleAfterMs = 2 * 60_000;
/** Jobs believed queued asked about per repository and pass (oldest first): one API call each. */
const maxQuestions = 20;

export class JobRecovery {
  private last: RecoveryReport | undefined;
  private readonly task: PeriodicTask<RecoveryReport>;

  constructor(private readonly deps: RecoveryDeps) {
    this.task = new PeriodicTask(() => this.run(staleAfterMs), () => deps.config().job_recovery_interval);
  }

  start(delayMs = 10_000): void {
    this.task.start(delayMs);
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  status(): RecoveryReport | undefined {
    return this.last;
  }

  /** One listing now; `staleAfterMs`: how old a believed-queued job must be before GitHub is asked about it. */
  recover(options: { staleAfterMs?: number } = {}): Promise<RecoveryReport> {
    return this.task.run(() => this.run(options.staleAfterMs ?? staleAfterMs));
  }

  private async run(staleAfter: number): Promise<RecoveryReport> {
    const config = this.deps.config();
    const now = this.deps.now();
    const report: RecoveryReport = { at: now, repositories: 0, recovered: 0, corrected: 0, runs: 0, apiCalls: 0, truncated: false, errors: [] };
    const targets = new Map<string, { connection: string; repository: string }>();
    for (const pool of config.pools) {
      if (pool.scope.type !== "repo" || !this.deps.clients().has(pool.connection)) continue;
      targets.set(`${pool.connection}|${pool.scope.repo.toLowerCase()}`, { connection: pool.connection, repository: pool.scope.repo });
    }
    for (const { connection, repository } of targets.values()) {
      const client = this.deps.clients().get(connection)?.client;
      if (!client) continue;
      const callsBefore = client.tracker.total();
      try {
        report.repositories++;
        await this.recoverRepository(client, connection, repository, { now, staleAfter, report });
      } catch (err) {
        report.errors.push(describeError(err));
      }
      report.apiCalls += client.tracker.total() - callsBefore;
    }
    if (report.recovered > 0 || report.corrected > 0) this.deps.logger.info({ ...report, errors: undefined }, "job recovery: recorded jobs whose webhooks were missed");
    if (report.truncated) this.deps.logger.info({ runs: report.runs, apiCalls: report.apiCalls }, "job recovery: bounds reached; the rest waits for the next pass");
    for (const error of report.errors) this.deps.logger.warn({ err: error }, "job recovery: listing jobs failed; trying again later");
    this.last = report;
    return report;
  }

  private async recoverRepository(client: RecoveryClient, connection: string, repository: string, pass: { now: number; staleAfter: number; report: RecoveryReport }): Promise<void> {
    const { now, staleAfter, report } = pass;
    const listing = await client.listQueuedJobs(repository, this.deps.bounds);
    report.runs += listing.runs;
    report.truncated ||= listing.truncated;
    for (const job of listing.jobs) {
      if (!this.deps.store.getJob(job.id)) report.recovered++;
      this.deps.handle(toEvent(job, connection, repository, now));
    }
    const listed = new Set(listing.jobs.map((j) => j.id));
    const believedQueued = this.deps.store
      .listJobs({ repository, status: "queued", limit: 500 })
      .filter((j) => !listed.has(j.jobId) && now - (j.queuedAt ?? j.updatedAt) >= staleAfter)
      .reverse(); // oldest first, so each pass gets further through a backlog
    if (believedQueued.length > maxQuestions) report.truncated = true;
    for (const stale of believedQueued.slice(0, maxQuestions)) {
      const job = await client.getJob(repository, stale.jobId);
      if (job === null) {
        // Deleted with its run: nothing will ever pick it up.
        this.deps.handle(toEvent({ ...fromRecord(stale), status: "completed", conclusion: "cancelled", completedAt: new Date(now).toISOString() }, connection, repository, now));
        report.corrected++;
      } else if (job.status !== "queued" && job.status !== "waiting") {
        this.deps.handle(toEvent(job, connection, repository, now));
        report.corrected++;
      }
    }
  }
}

/** What recovery needs of a connection's client. */
type RecoveryClient = Pick<ConnectionClient, "listQueuedJobs" | "getJob" | "tracker">;

function toEvent(job: ListedJob, connection: string, repository: string, now: number): JobEvent {
  const action: JobStatus = job.status === "completed" ? "completed" : job.status === "in_progress" ? "in_progress" : job.status === "waiting" ? "waiting" : "queued";
  const started = action === "in_progress" || action === "completed";
  return {
    action,
    deliveryId: `recovery:${job.id}:${action}`,
    connection,
    jobId: job.id,
    runId: job.runId,
    runAttempt: job.runAttempt,
    repository,
    workflowName: job.workflowName,
    jobName: job.name,
    labels: job.labels,
    runnerName: job.runnerName,
    runnerGroupName: job.runnerGroupName,
    conclusion: action === "completed" ? job.conclusion : null,
    createdAt: Date.parse(job.createdAt) || null,
    startedAt: started && job.startedAt ? Date.parse(job.startedAt) || null : null,
    completedAt: action === "completed" && job.completedAt ? Date.parse(job.completedAt) || null : null,
    receivedAt: now,
  };
}

function fromRecord(job: { jobId: number; runId: number; jobName: string; workflowName: string | null; labels: string[]; queuedAt: number | null; updatedAt: number }): ListedJob {
  return {
    id: job.jobId,
    runId: job.runId,
    runAttempt: 1,
    name: job.jobName,
    workflowName: job.workflowName,
    labels: job.labels,
    status: "queued",
    conclusion: null,
    runnerName: null,
    runnerGroupName: null,
    createdAt: new Date(job.queuedAt ?? job.updatedAt).toISOString(),
    startedAt: null,
    completedAt: null,
  };
}
