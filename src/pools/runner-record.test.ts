// Reading the agent's result.json into an outcome: every `end`, older agents without one, and
// hostile input (huge numbers, wrong types, unknown ends), which is a failure and never a throw.
import { describe, expect, it } from "vitest";
import { agentEnds, readAgentResult } from "./runner-record.js";

const base = {
  exit_code: 0, outcome: "succeeded", job_seen: true, job_name: "build", job_result: "Succeeded", error: "",
  started_at: 1_700_000_000, configured_at: 1_700_000_001, listening_at: 1_700_000_002, job_started_at: 1_700_000_010, finished_at: 1_700_000_020,
};

function read(fields: Record<string, unknown>, text?: string): ReturnType<typeof readAgentResult> {
  return readAgentResult(Buffer.from(text ?? JSON.stringify({ ...base, ...fields })));
}

describe("readAgentResult", () => {
  it.each(Object.entries(agentEnds))("end %s is outcome %s", (end, outcome) => {
    expect(read({ end, updates: 0, retries: 0, refreshes: 0, runner_version: "2.330.0" }).outcome).toBe(outcome);
  });

  it("a runner that updated itself and then ran its job succeeded, with its counts kept", () => {
    const read1 = read({ end: "job-done", updates: 1, retries: 2, refreshes: 0, runner_version: "2.331.0" });
    expect(read1).toEqual({ outcome: "succeeded", result: expect.objectContaining({ end: "job-done", updates: 1, retries: 2, refreshes: 0, runner_version: "2.331.0" }) as object });
    expect(read1.detail).toBeUndefined();
  });

  it("end decides over the agent's own outcome field", () => {
    expect(read({ end: "deprecated", outcome: "failed", exit_code: 7, error: "Runner version v2.330.0 is deprecated and cannot receive messages. (exit 7)" }))
      .toMatchObject({ outcome: "runner-deprecated", detail: "Runner version v2.330.0 is deprecated and cannot receive messages. (exit 7)" });
  });

  it("reads agents that write no end by their outcome field, runner-deprecated included", () => {
    expect(read({}).outcome).toBe("succeeded");
    expect(read({ outcome: "no-job" }).outcome).toBe("no-job");
    expect(read({ outcome: "runner-deprecated" }).outcome).toBe("runner-deprecated");
    expect(read({ outcome: "config-failed" }).outcome).toBe("config-failed");
    expect(read({ outcome: "whatever" }).outcome).toBe("failed");
    expect(read({}).result).not.toHaveProperty("updates");
  });

  it.each([
    ["an unknown end", { end: "job-done-twice" }, ["end"]],
    ["an end of the wrong type", { end: 3 }, ["end"]],
    ["a huge count", { end: "job-done", updates: 1e300 }, ["updates"]],
    ["a negative count", { end: "job-done", retries: -1 }, ["retries"]],
    ["a fractional count", { end: "job-done", refreshes: 0.5 }, ["refreshes"]],
    ["a count as a string", { end: "job-done", updates: "1" }, ["updates"]],
    ["a version that is not one", { end: "job-done", runner_version: "2.330.0; rm -rf /" }, ["runner_version"]],
    ["a version of the wrong type", { end: "job-done", runner_version: { v: 1 } }, ["runner_version"]],
    ["several at once", { end: null, updates: [], retries: true }, ["end", "updates", "retries"]],
  ])("%s makes the runner failed, keeps the rest and drops the bad field", (_what, fields, bad) => {
    const got = read(fields);
    expect(got.outcome).toBe("failed");
    expect(got.detail).toBe(`result.json has fields runnerd cannot read (${bad.join(", ")}), so the runner counts as failed`);
    expect(got.result?.job_name).toBe("build");
    for (const key of bad) expect(got.result).not.toHaveProperty(key);
  });

  it("keeps the agent's error in front of the complaint", () => {
    expect(read({ end: "nope", error: "runner exited with 9" }).detail).toBe("runner exited with 9; result.json has fields runnerd cannot read (end), so the runner counts as failed");
  });

  it("takes a null runner_version and a number that JSON makes Infinity without throwing", () => {
    expect(read({ end: "no-job", runner_version: null }).outcome).toBe("no-job");
    const infinite = read({}, JSON.stringify({ ...base, end: "job-done" }).replace('"job-done"', '"job-done","updates":1e999'));
    expect(infinite.outcome).toBe("failed");
    const hugeCore = read({}, JSON.stringify(base).replace("1700000020", "1e999"));
    expect(hugeCore).toMatchObject({ result: null, outcome: "lost" });
  });

  it("a missing, garbled or incomplete file is lost", () => {
    expect(readAgentResult(null).outcome).toBe("lost");
    expect(read({}, "{not json").outcome).toBe("lost");
    expect(read({}, "[]").outcome).toBe("lost");
    expect(read({}, "null").outcome).toBe("lost");
    expect(read({}, JSON.stringify({ end: "job-done" })).outcome).toBe("lost");
  });
});
