import { describe, expect, it } from "vitest";
import { parseWorkflowJob } from "./workflow-job-payload.js";

const meta = { deliveryId: "d1", connection: "main", receivedAt: 5 };
const base = {
  action: "completed",
  workflow_job: {
    id: 7, run_id: 70, run_attempt: 1, name: "test", workflow_name: "CI", labels: ["self-hosted"],
    runner_name: "runnerd-app-abc", runner_group_name: "Default", conclusion: "success",
    created_at: "2024-05-01T10:00:00Z", started_at: "2024-05-01T10:00:05Z", completed_at: "2024-05-01T10:01:00.500Z",
  },
  repository: { full_name: "octo/app" },
};
const withJob = (job: Record<string, unknown>, action = "completed") => ({ ...base, action, workflow_job: { ...base.workflow_job, ...job } });

describe("parseWorkflowJob", () => {
  it("converts times to ms and keeps the fields runnerd uses", () => {
    expect(parseWorkflowJob(base, meta)).toEqual({
      kind: "event",
      event: {
        action: "completed", deliveryId: "d1", connection: "main", jobId: 7, runId: 70, runAttempt: 1, repository: "octo/app",
        workflowName: "CI", jobName: "test", labels: ["self-hosted"], runnerName: "runnerd-app-abc", runnerGroupName: "Default",
        conclusion: "success", createdAt: Date.parse("2024-05-01T10:00:00Z"), startedAt: Date.parse("2024-05-01T10:00:05Z"),
        completedAt: Date.parse("2024-05-01T10:01:00.500Z"), receivedAt: 5,
      },
    });
  });

  it("has no start time for a queued or waiting job (GitHub repeats created_at there)", () => {
    for (const action of ["queued", "waiting"]) {
      const parsed = parseWorkflowJob(withJob({ conclusion: null, completed_at: null }, action), meta);
      expect(parsed.kind === "event" && parsed.event.startedAt).toBeNull();
    }
  });

  it.each<[string, string | undefined, string]>([
    ["queued", "queued", "queued"],
    ["queued", undefined, "queued"],
    // a job held for an environment's approval (the queued payload's status enum includes waiting)
    ["queued", "waiting", "waiting"],
    ["waiting", "waiting", "waiting"],
    ["in_progress", "in_progress", "in_progress"],
    ["completed", "completed", "completed"],
  ])("reads action %s with workflow_job.status %s as %s", (action, status, expected) => {
    const job: Record<string, unknown> = { conclusion: null, completed_at: null };
    if (status !== undefined) job.status = status;
    expect(parseWorkflowJob(withJob(job, action), meta)).toMatchObject({ kind: "event", event: { action: expected } });
  });

  it("tolerates extra fields, and what older GHES leaves out", () => {
    const job: Record<string, unknown> = { ...base.workflow_job, steps: [{ name: "x" }], head_sha: "abc", future_field: { a: 1 } };
    for (const key of ["run_attempt", "workflow_name", "runner_group_name", "started_at"]) delete job[key];
    const parsed = parseWorkflowJob({ ...base, workflow_job: job, sender: {}, enterprise: {} }, meta);
    expect(parsed).toMatchObject({ kind: "event", event: { runAttempt: 1, workflowName: null, runnerGroupName: null, startedAt: null } });
  });

  it("reads an empty runner name as none", () => {
    const parsed = parseWorkflowJob(withJob({ runner_name: "", runner_group_name: "", conclusion: "cancelled" }), meta);
    expect(parsed).toMatchObject({ event: { runnerName: null, runnerGroupName: null, conclusion: "cancelled" } });
  });

  it("is strict about the types of what it uses", () => {
    const bad = [
      withJob({ id: "7" }), withJob({ id: 1.5 }), withJob({ labels: "self-hosted" }), withJob({ labels: [1] }),
      withJob({ created_at: "soon" }), withJob({ name: null }), { ...base, repository: { full_name: "no-slash" } },
      { ...base, repository: undefined }, null, [], "text",
    ];
    for (const payload of bad) expect(parseWorkflowJob(payload, meta).kind, JSON.stringify(payload)).toBe("malformed");
    expect(parseWorkflowJob(withJob({ id: "7" }), meta)).toMatchObject({ detail: expect.stringContaining("workflow_job.id") as string });
  });

  it("sets an action it does not know aside instead of calling it malformed", () => {
    expect(parseWorkflowJob({ ...base, action: "deferred" }, meta)).toEqual({ kind: "unknown-action", action: "deferred" });
  });
});
