// A status page snapshot with known content, for the status page's unit and browser tests: two
// pools (one blocked), runners in several phases, finished and running jobs, a credential warning,
// and a pool and a job whose names hold markup that must render as text.
import type { StatusPageData } from "../../src/http/status-page.js";
import type { JobRecord } from "../../src/store/job-types.js";

export const hostileName = '<script>alert("x")</script>';

export function sampleJob(overrides: Partial<JobRecord> & Pick<JobRecord, "jobId">): JobRecord {
  return {
    runId: 7000 + overrides.jobId,
    connection: "github",
    repository: "acme/web",
    workflowName: "CI",
    jobName: "test",
    labels: ["self-hosted", "linux"],
    status: "completed",
    conclusion: "success",
    pool: "web",
    runnerName: null,
    queuedAt: null,
    startedAt: null,
    completedAt: null,
    updatedAt: 0,
    ...overrides,
  };
}

export function sampleStatusPageData(now: number): StatusPageData {
  const ago = (s: number) => now - s * 1000;
  return {
    at: now,
    daemon: { pid: 4242, startedAt: ago(3 * 3600), version: "0.1.0" },
    pools: [
      { name: "web", scope: "repo:acme/web", idle: 2, busy: 1, starting: 1, finishing: 0, floor: 3, ceiling: 6, queued: 0 },
      {
        name: hostileName,
        scope: "org:acme",
        idle: 0,
        busy: 0,
        starting: 0,
        finishing: 0,
        floor: 1,
        ceiling: 2,
        queued: 4,
        blocked: "token-missing",
        lastError: { message: "registration refused", at: ago(90) },
      },
    ],
    runners: [
      { name: "rd-web-a1b2c3", pool: "web", phase: "busy", createdAt: ago(300), job: "acme/web CI / test" },
      { name: "rd-web-d4e5f6", pool: "web", phase: "idle", createdAt: ago(120) },
      { name: "rd-web-0718ab", pool: "web", phase: "idle", createdAt: ago(60) },
      { name: "rd-web-9c8d7e", pool: "web", phase: "starting", createdAt: ago(5) },
    ],
    jobs: [
      sampleJob({ jobId: 3, jobName: "lint", status: "in_progress", conclusion: null, runnerName: "rd-web-a1b2c3", queuedAt: ago(40), startedAt: ago(35), updatedAt: ago(35) }),
      sampleJob({ jobId: 2, jobName: hostileName, conclusion: "failure", runnerName: "rd-web-112233", queuedAt: ago(600), startedAt: ago(598), completedAt: ago(480), updatedAt: ago(480) }),
      sampleJob({ jobId: 1, repository: "acme/api", workflowName: "Release", jobName: "build", runnerName: "rd-web-445566", queuedAt: ago(900), startedAt: ago(888), completedAt: ago(700), updatedAt: ago(700) }),
    ],
    credentials: [
      { scope: "repo:acme/web", connection: "github", mode: "push", level: "warn", message: "no push for 50m (expected every 30m): token expires in 10m", expiresAt: now + 600_000, lastPushAt: ago(3000) },
      { scope: "org:acme", connection: "app", mode: "app", level: "ok", message: "JIT configs from the GitHub App" },
    ],
    storage: { pool: "runners", usedBytes: 30 * 1024 ** 3, totalBytes: 200 * 1024 ** 3 },
  };
}
