import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import type { JobRecord } from "../store/job-types.js";
import { jobJson, jobsFilter, renderJobs } from "./jobs.js";

const now = Date.parse("2025-01-01T12:00:00Z");
const ago = (minutes: number) => now - minutes * 60_000;

function job(overrides: Partial<JobRecord>): JobRecord {
  return {
    jobId: 1,
    runId: 10,
    connection: "main",
    repository: "acme/web",
    workflowName: "CI",
    jobName: "build",
    labels: ["self-hosted"],
    status: "completed",
    conclusion: "success",
    pool: "web",
    runnerName: "rd-web-a1b2c3d4",
    queuedAt: ago(30),
    startedAt: ago(29),
    completedAt: ago(20),
    updatedAt: ago(20),
    ...overrides,
  };
}

describe("runnerd jobs", () => {
  it("turns options into a store filter", () => {
    expect(jobsFilter({}, now)).toEqual({ limit: 50 });
    expect(jobsFilter({ repo: "acme/web", pool: "web", runner: "rd-1", status: "in_progress", since: "2h", limit: "5" }, now)).toEqual({
      repository: "acme/web",
      pool: "web",
      runner: "rd-1",
      status: "in_progress",
      since: now - 2 * 3_600_000,
      limit: 5,
    });
    expect(jobsFilter({ status: "failure" }, now)).toEqual({ conclusion: "failure", limit: 50 });
  });

  it.each([
    [{ since: "yesterday" }, '--since must be a duration such as 30m, 2h or 7d, not "yesterday"'],
    [{ limit: "0" }, '--limit must be a whole number of at least 1, not "0"'],
    [{ limit: "ten" }, "--limit must be a whole number"],
    [{ status: "Done!" }, "--status must be queued, waiting, in_progress, completed or a conclusion"],
  ])("refuses %j", (opts, message) => {
    expect(() => jobsFilter(opts, now)).toThrow(UsageError);
    expect(() => jobsFilter(opts, now)).toThrow(message);
  });

  it("renders a table with ages, waits and durations", () => {
    const text = renderJobs(
      [
        job({ jobId: 3, status: "queued", conclusion: null, pool: null, runnerName: null, startedAt: null, completedAt: null, queuedAt: ago(2), workflowName: null, jobName: "lint" }),
        job({ jobId: 2, status: "in_progress", conclusion: null, completedAt: null }),
        job({ jobId: 1, conclusion: "failure" }),
      ],
      now,
    );
    expect(text.split("\n")).toEqual([
      "JOB  REPOSITORY  WORKFLOW / JOB  POOL  RUNNER           STATUS       QUEUED   WAIT  DURATION",
      "3    acme/web    ? / lint        -     -                queued       2m ago   -     -",
      "2    acme/web    CI / build      web   rd-web-a1b2c3d4  in_progress  30m ago  60s   -",
      "1    acme/web    CI / build      web   rd-web-a1b2c3d4  failure      30m ago  60s   9m",
    ]);
    expect(renderJobs([], now)).toContain("no jobs recorded");
  });

  it("gives JSON with ISO times and computed spans", () => {
    expect(jobJson(job({}))).toMatchObject({
      job_id: 1,
      workflow: "CI",
      job: "build",
      queued_at: "2025-01-01T11:30:00.000Z",
      completed_at: "2025-01-01T11:40:00.000Z",
      wait_ms: 60_000,
      duration_ms: 540_000,
    });
    expect(jobJson(job({ startedAt: null, completedAt: null }))).toMatchObject({ started_at: null, wait_ms: null, duration_ms: null });
  });
});
