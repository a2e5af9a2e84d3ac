import { afterEach, describe, expect, it } from "vitest";
import type { JobEvent, JobStatus } from "./job-types.js";
import { openStore } from "./open.js";
import type { Store } from "./open.js";
import { makeClock, makeStateDir } from "./test-support.js";

let store: Store | undefined;
afterEach(() => store?.close());

const t0 = Date.parse("2025-01-01T00:00:00Z");
const min = (n: number) => t0 + n * 60_000;

/** A delivery as GitHub sends it for `action`: started_at is filled even while queued. */
function event(action: JobStatus, overrides: Partial<JobEvent> = {}): JobEvent {
  const started = action === "in_progress" || action === "completed";
  return {
    action,
    deliveryId: `d-${action}`,
    connection: "main",
    jobId: 1,
    runId: 10,
    runAttempt: 1,
    repository: "acme/web",
    workflowName: "CI",
    jobName: "build",
    labels: ["self-hosted", "linux"],
    runnerName: started ? "rd-web-1" : null,
    runnerGroupName: started ? "Default" : null,
    conclusion: action === "completed" ? "success" : null,
    createdAt: min(0),
    startedAt: action === "queued" ? min(0) : started ? min(2) : null,
    completedAt: action === "completed" ? min(5) : null,
    receivedAt: started ? (action === "in_progress" ? min(2) : min(5)) : min(0),
    ...overrides,
  };
}

describe("job history", () => {
  it("follows a job through its deliveries, each recorded twice without change", () => {
    store = openStore(makeStateDir());
    const queued = store.recordJobEvent(event("queued"), "web");
    expect(queued.changed).toBe(true);
    expect(queued.record).toEqual({
      jobId: 1,
      runId: 10,
      connection: "main",
      repository: "acme/web",
      workflowName: "CI",
      jobName: "build",
      labels: ["self-hosted", "linux"],
      status: "queued",
      conclusion: null,
      pool: "web",
      runnerName: null,
      queuedAt: min(0),
      // GitHub's started_at on a queued delivery is not a start.
      startedAt: null,
      completedAt: null,
      updatedAt: min(0),
    });
    expect(store.recordJobEvent(event("queued"), "web").changed).toBe(false);
    expect(store.recordJobEvent(event("in_progress"), "web").record).toMatchObject({ status: "in_progress", runnerName: "rd-web-1", startedAt: min(2), updatedAt: min(2) });
    expect(store.recordJobEvent(event("in_progress"), "web").changed).toBe(false);
    const done = store.recordJobEvent(event("completed"), "web");
    expect(done.record).toMatchObject({ status: "completed", conclusion: "success", queuedAt: min(0), startedAt: min(2), completedAt: min(5), updatedAt: min(5) });
    expect(store.recordJobEvent(event("completed", { receivedAt: min(9) }), "web")).toEqual({ changed: false, record: done.record });
    expect(store.getJob(1)).toEqual(done.record);
    expect(store.getJob(2)).toBeNull();
  });

  it("never moves a job back, but lets a late delivery fill what is missing", () => {
    store = openStore(makeStateDir());
    // in_progress first, without a queue time or pool (e.g. the job came from another source).
    store.recordJobEvent(event("in_progress", { createdAt: null, workflowName: null }), null);
    const late = store.recordJobEvent(event("queued", { receivedAt: min(3) }), "web");
    expect(late.changed).toBe(true);
    expect(late.record).toMatchObject({ status: "in_progress", queuedAt: min(0), startedAt: min(2), pool: "web", workflowName: "CI", runnerName: "rd-web-1", updatedAt: min(3) });
    store.recordJobEvent(event("completed"), null);
    const stale = store.recordJobEvent(event("in_progress", { receivedAt: min(6), runnerName: "other" }), "api");
    expect(stale.changed).toBe(false);
    expect(stale.record).toMatchObject({ status: "completed", conclusion: "success", pool: "web", runnerName: "rd-web-1", completedAt: min(5) });
  });

  it("takes completed straight away and keeps times a later delivery lacks", () => {
    store = openStore(makeStateDir());
    store.recordJobEvent(event("completed"), "web");
    const again = store.recordJobEvent(event("completed", { startedAt: null, completedAt: null, conclusion: null, receivedAt: min(7) }), "web");
    expect(again.changed).toBe(false);
    expect(again.record).toMatchObject({ startedAt: min(2), completedAt: min(5), conclusion: "success", updatedAt: min(5) });
  });

  it("lets the later of queued and waiting stand, as GitHub may send either first", () => {
    store = openStore(makeStateDir());
    store.recordJobEvent(event("waiting"), "web");
    expect(store.recordJobEvent(event("queued", { receivedAt: min(1) }), "web").record.status).toBe("queued");
    expect(store.recordJobEvent(event("waiting", { receivedAt: min(0) }), "web").record.status).toBe("queued");
  });

  it("counts demand per pool from jobs still queued, forgetting old ones and those without a pool", () => {
    store = openStore(makeStateDir());
    const job = (jobId: number, action: JobStatus, pool: string | null, queuedMinute: number) =>
      store?.recordJobEvent(event(action, { jobId, createdAt: min(queuedMinute), receivedAt: min(queuedMinute) }), pool);
    job(1, "queued", "web", 50);
    job(2, "queued", "web", 55);
    job(3, "queued", "api", 58);
    job(4, "queued", null, 58);
    job(5, "in_progress", "web", 58);
    job(6, "queued", "api", 10); // its in_progress delivery was lost
    expect(store.queuedDemand(min(60), 30 * 60_000)).toEqual(new Map([["web", 2], ["api", 1]]));
    job(1, "in_progress", "web", 50);
    expect(store.queuedDemand(min(60), 30 * 60_000)).toEqual(new Map([["web", 1], ["api", 1]]));
    expect(store.queuedDemand(min(200), 30 * 60_000)).toEqual(new Map());
  });

  it("does not count a job waiting for an environment's approval as demand until it is queued", () => {
    store = openStore(makeStateDir());
    const deliver = (action: JobStatus, minute: number) => store?.recordJobEvent(event(action, { jobId: 7, createdAt: min(50), receivedAt: min(minute) }), "web");
    deliver("waiting", 50);
    expect(store.queuedDemand(min(51), 30 * 60_000)).toEqual(new Map());
    deliver("queued", 55); // approved
    expect(store.queuedDemand(min(56), 30 * 60_000)).toEqual(new Map([["web", 1]]));
    deliver("in_progress", 56);
    expect(store.queuedDemand(min(57), 30 * 60_000)).toEqual(new Map());
  });

  it("lists newest first with filters and a limit", () => {
    store = openStore(makeStateDir());
    const add = (jobId: number, action: JobStatus, minute: number, overrides: Partial<JobEvent>, pool: string | null) =>
      store?.recordJobEvent(event(action, { jobId, createdAt: min(minute), startedAt: min(minute + 1), completedAt: min(minute + 3), ...overrides }), pool);
    add(1, "completed", 0, { repository: "acme/web", runnerName: "rd-web-a" }, "web");
    add(2, "completed", 10, { repository: "acme/api", runnerName: "rd-api-b", conclusion: "failure" }, "api");
    add(3, "in_progress", 20, { repository: "Acme/Web", runnerName: "rd-web-c" }, "web");
    add(4, "queued", 30, { repository: "acme/docs" }, null);
    const ids = (filter?: Parameters<Store["listJobs"]>[0]) => store?.listJobs(filter).map((j) => j.jobId);
    expect(ids()).toEqual([4, 3, 2, 1]);
    expect(ids({ repository: "ACME/web" })).toEqual([3, 1]);
    expect(ids({ pool: "web" })).toEqual([3, 1]);
    expect(ids({ status: "completed" })).toEqual([2, 1]);
    expect(ids({ conclusion: "failure" })).toEqual([2]);
    expect(ids({ runner: "rd-web-c" })).toEqual([3]);
    expect(ids({ since: min(10) })).toEqual([4, 3, 2]);
    expect(ids({ limit: 2 })).toEqual([4, 3]);
    expect(ids({ pool: "web", since: min(5), limit: 5 })).toEqual([3]);
  });

  it("gives queue waits of started jobs, ascending and filtered", () => {
    store = openStore(makeStateDir());
    const add = (jobId: number, pool: string, queued: number, started: number | null) =>
      store?.recordJobEvent(event(started === null ? "queued" : "in_progress", { jobId, createdAt: min(queued), startedAt: started === null ? null : min(started) }), pool);
    add(1, "web", 0, 3);
    add(2, "web", 10, 11);
    add(3, "api", 20, 20);
    add(4, "web", 30, null);
    add(5, "web", 40, 39); // clocks disagree: never a negative wait
    expect(store.queueWaits()).toEqual([0, 0, 60_000, 180_000]);
    expect(store.queueWaits({ pool: "web" })).toEqual([0, 60_000, 180_000]);
    expect(store.queueWaits({ pool: "web", since: min(10) })).toEqual([0, 60_000]);
    expect(store.queueWaits({ repository: "acme/other" })).toEqual([]);
  });

  it("prunes jobs not updated for longer than asked, by the store's clock", () => {
    const clock = makeClock(min(0));
    store = openStore(makeStateDir(), { now: clock.now });
    store.recordJobEvent(event("completed", { jobId: 1, receivedAt: min(0) }), "web");
    store.recordJobEvent(event("queued", { jobId: 2, receivedAt: min(50) }), "web");
    clock.advance(60 * 60_000);
    expect(store.pruneJobs(30 * 60_000)).toBe(1);
    expect(store.listJobs().map((j) => j.jobId)).toEqual([2]);
    expect(store.pruneJobs(30 * 60_000)).toBe(0);
  });
});
