import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LxdError } from "../errors.js";
import { collectRunner as collectOrDefer, InstanceReader, type Collected, type LogKeeping } from "./collect.js";
import { paths } from "./ownership.js";
import { FakeLxd } from "./test-support.js";

const finished = {
  exit_code: 0, outcome: "succeeded", job_seen: true, job_name: "build", error: "",
  started_at: 1, configured_at: 2, listening_at: 3, job_started_at: 4, finished_at: 5,
};

function stoppedRunner(files: Record<string, string> = {}): FakeLxd {
  const lxd = new FakeLxd();
  lxd.addRunner("r1", "web", { status: "Stopped", createdAt: 0, result: finished });
  for (const [path, content] of Object.entries(files)) lxd.instances.get("r1")?.files.set(path, content);
  return lxd;
}

const keeping = (logsDir = mkdtempSync(join(tmpdir(), "runnerd-collect-")), maxRunnerLogBytes = 64 * 1024 * 1024) => ({ logsDir, maxRunnerLogBytes });

/** A collection that may not be put off. */
async function collectRunner(lxd: FakeLxd, name: string, keep: LogKeeping, forceStop: boolean): Promise<Collected> {
  const collected = await collectOrDefer(lxd, name, keep, forceStop);
  if ("deferred" in collected) throw new Error(`put off: ${collected.deferred}`);
  return collected;
}

describe("collectRunner", () => {
  it("waits for LXD's stop clean-up before the first read, then reads, saves the logs and deletes", async () => {
    const lxd = stoppedRunner({ [paths.logArchive]: "tar" });
    const logs = mkdtempSync(join(tmpdir(), "runnerd-collect-"));
    const collected = await collectRunner(lxd, "r1", keeping(logs), false);
    expect(collected.outcome).toBe("succeeded");
    expect(collected.detail).toBeUndefined();
    expect(collected.logFiles).toEqual(["result.json", "logs.tar.gz"]);
    expect(readdirSync(join(logs, "r1")).sort()).toEqual(["logs.tar.gz", "result.json"]);
    expect(lxd.calls.indexOf("wait-stop r1")).toBeLessThan(lxd.calls.indexOf(`pull ${paths.result}`));
    expect(lxd.instances.has("r1")).toBe(false);
  });

  it("gives up on a read that hangs (a FIFO the job left) after its deadline, reads nothing more, and still deletes", async () => {
    const lxd = stoppedRunner();
    lxd.hangingReads.add(paths.result);
    const started = performance.now();
    const reader = new InstanceReader(lxd, "r1", 60_000);
    expect(await reader.read(paths.result, { timeoutMs: 50, maxBytes: 1024 })).toBeNull();
    expect(await reader.read(paths.logArchive, { timeoutMs: 50, maxBytes: 1024 })).toBeNull();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(lxd.count(`pull ${paths.result}`)).toBe(1);
    expect(lxd.count(`pull ${paths.logArchive}`)).toBe(0);
    expect(reader.errors[0]).toMatch(/no answer within 50 ms/);
    expect(reader.errors[1]).toMatch(/logs.tar.gz not read: an earlier read hung/);
  });

  it("refuses a file larger than its bound without retrying, and records why", async () => {
    const lxd = stoppedRunner();
    lxd.instances.get("r1")?.files.set(paths.result, "x".repeat(2048));
    const reader = new InstanceReader(lxd, "r1", 60_000);
    expect(await reader.read(paths.result, { timeoutMs: 1_000, maxBytes: 1024 })).toBeNull();
    expect(lxd.count(`pull ${paths.result}`)).toBe(1);
    expect(reader.errors[0]).toMatch(/larger than 1024 bytes/);
  });

  it("stops reading once the budget is spent", async () => {
    const lxd = stoppedRunner();
    const reader = new InstanceReader(lxd, "r1", 0);
    expect(await reader.read(paths.result, { timeoutMs: 1_000, maxBytes: 1024 })).toBeNull();
    expect(lxd.count("pull")).toBe(0);
    expect(reader.errors[0]).toMatch(/read budget is spent/);
  });

  it("records a hung result read as the runner's detail, not as a success", async () => {
    const lxd = stoppedRunner();
    lxd.hangingReads.add(paths.result);
    const collected = await collectRunner(lxd, "r1", keeping(), false);
    expect(collected.result).toBeNull();
    expect(collected.detail).toMatch(/reading result.json failed: .*no answer within/);
    expect(lxd.instances.has("r1")).toBe(false);
  }, 15_000);

  it("puts the collection off, leaving the instance, when the result read hangs before LXD has processed the stop", async () => {
    const lxd = stoppedRunner();
    lxd.hangingReads.add(paths.result);
    lxd.hangMs = 1;
    lxd.unprocessedStops.add("r1");
    const collected = await collectOrDefer(lxd, "r1", keeping(), false, true);
    expect(collected).toEqual({ deferred: "reading result.json hung while LXD had not finished processing the stop" });
    expect(lxd.instances.has("r1")).toBe(true);
    expect(lxd.count("pull")).toBe(1); // nothing read after the hang
  });

  it("does not put it off when LXD had processed the stop (a FIFO the job left hangs every read), nor when the caller allows no more", async () => {
    for (const [unprocessed, mayDefer] of [[false, true], [true, false]] as const) {
      const lxd = stoppedRunner();
      lxd.hangingReads.add(paths.result);
      lxd.hangMs = 1;
      if (unprocessed) lxd.unprocessedStops.add("r1");
      const collected = await collectOrDefer(lxd, "r1", keeping(), false, mayDefer);
      expect(collected).toMatchObject({ result: null, detail: expect.stringMatching(/reading result.json failed/) });
      expect(lxd.instances.has("r1")).toBe(false);
    }
  });

  it("gives the collection up when LXD is not reached, so a later pass collects the runner instead of recording a guess", async () => {
    const lxd = stoppedRunner();
    lxd.pullFile = () => Promise.reject(new LxdError("pull file: LXD at /x not reached: other side closed", 0));
    await expect(collectRunner(lxd, "r1", keeping(), false)).rejects.toThrow(/not reached/);
    expect(lxd.instances.has("r1")).toBe(true);
  });

  it("keeps a log bundle larger than logs_retention.max_runner_mib cut at that size, and says so", async () => {
    const lxd = stoppedRunner({ [paths.logArchive]: "L".repeat(3 * 1024 * 1024) });
    const logs = mkdtempSync(join(tmpdir(), "runnerd-collect-"));
    const collected = await collectRunner(lxd, "r1", keeping(logs, 1024 * 1024), false);
    expect(collected.outcome).toBe("succeeded"); // the job's own result stands
    expect(collected.logFiles).toEqual(["result.json", "logs.tar.gz"]);
    expect(statSync(join(logs, "r1", "logs.tar.gz")).size).toBe(1024 * 1024);
    expect(collected.detail).toBe("logs.tar.gz cut at 1 MiB (logs_retention.max_runner_mib); the rest was not read");
  });
});
