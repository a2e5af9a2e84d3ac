// A `workflow_job` webhook body reduced to a JobEvent. The schema names only the fields runnerd
// uses: extra fields (GitHub adds some over time) pass, but a used field of the wrong type makes
// the delivery malformed rather than half-understood.
import { z } from "zod";
import type { JobEvent, JobStatus } from "../store/job-types.js";

const jobActions = ["queued", "waiting", "in_progress", "completed"] as const satisfies readonly JobStatus[];

/** An ISO 8601 time as ms since the epoch. */
const isoTime = z.string().transform((text, ctx) => {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: "not an ISO 8601 time" });
    return z.NEVER;
  }
  return ms;
});
/** Older GHES releases leave some fields out; GitHub sends null. Both mean "not known". */
const maybe = <T extends z.ZodType>(schema: T) => schema.nullable().optional().transform((v) => v ?? null);
/** GitHub sends "" for the runner of a job cancelled before a runner took it. */
const maybeName = maybe(z.string()).transform((v) => (v === "" ? null : v));

const workflowJobSchema = z.object({
  action: z.enum(jobActions),
  workflow_job: z.object({
    id: z.number().int().positive(),
    run_id: z.number().int().positive(),
    run_attempt: z.number().int().positive().optional().default(1),
    name: z.string(),
    workflow_name: maybe(z.string()),
    labels: z.array(z.string()),
    /** GitHub's enum: queued, in_progress, completed, waiting; read only to tell a waiting job (below). */
    status: maybe(z.string()),
    runner_name: maybeName,
    runner_group_name: maybeName,
    conclusion: maybe(z.string()),
    created_at: maybe(isoTime),
    started_at: maybe(isoTime),
    completed_at: maybe(isoTime),
  }),
  repository: z.object({ full_name: z.string().regex(/^[^/\s]+\/[^/\s]+$/) }),
});

export type WorkflowJobParse =
  | { kind: "event"; event: JobEvent }
  /** An action runnerd does not know (GitHub may add some): acknowledged, not acted on. */
  | { kind: "unknown-action"; action: string }
  /** Where the payload is wrong: issue paths and messages only, never values (they may be anything). */
  | { kind: "malformed"; detail: string };

export interface DeliveryMeta {
  deliveryId: string;
  connection: string;
  receivedAt: number;
}

export function parseWorkflowJob(payload: unknown, meta: DeliveryMeta): WorkflowJobParse {
  const action = (payload as { action?: unknown } | null)?.action;
  if (typeof action === "string" && !(jobActions as readonly string[]).includes(action)) return { kind: "unknown-action", action };
  const parsed = workflowJobSchema.safeParse(payload);
  if (!parsed.success) {
    const detail = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ");
    return { kind: "malformed", detail };
  }
  const { workflow_job: job, repository } = parsed.data;
  const act = jobStatusOf(parsed.data.action, job.status);
  return {
    kind: "event",
    event: {
      action: act,
      deliveryId: meta.deliveryId,
      connection: meta.connection,
      jobId: job.id,
      runId: job.run_id,
      runAttempt: job.run_attempt,
      repository: repository.full_name,
      workflowName: job.workflow_name,
      jobName: job.name,
      labels: job.labels,
      runnerName: job.runner_name,
      runnerGroupName: job.runner_group_name,
      conclusion: job.conclusion,
      createdAt: job.created_at,
      // A queued job's started_at is only its creation time again; nothing has started.
      startedAt: act === "queued" || act === "waiting" ? null : job.started_at,
      completedAt: job.completed_at,
      receivedAt: meta.receivedAt,
    },
  };
}

/**
 * What a delivery says of the job's state. A job held for an environment's approval comes as
 * `action: waiting` ("created and is waiting for approvals", x-webhooks `workflow-job-waiting`),
 * and may come as `action: queued` too: the `workflow-job-queued` payload's `workflow_job.status`
 * enum includes `waiting` (OpenAPI `webhook-workflow-job-queued`). Such a job is `waiting`, which
 * is not demand: no runner can take it before someone approves it.
 */
export function jobStatusOf(action: JobStatus, status: string | null): JobStatus {
  return action === "queued" && status === "waiting" ? "waiting" : action;
}
