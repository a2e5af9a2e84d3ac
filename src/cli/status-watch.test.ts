import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { sampleJob } from "../../test/support/status-page-data.js";
import { parseWatchInterval, renderWatchFrame } from "./status-watch.js";

const at = Date.parse("2026-11-28T12:00:00Z");

describe("runnerd status --watch", () => {
  it("takes an interval of at least 500ms", () => {
    expect(parseWatchInterval("2s")).toBe(2000);
    expect(parseWatchInterval("500ms")).toBe(500);
    for (const bad of ["0s", "100ms", "soon", "-1s"]) expect(() => parseWatchInterval(bad)).toThrow(UsageError);
  });

  it("frames the status with a header and the recent jobs when there are any", () => {
    const jobs = [sampleJob({ jobId: 5, jobName: "lint", runnerName: "rd-web-1", queuedAt: at - 60_000, startedAt: at - 50_000, completedAt: at - 10_000 })];
    const frame = renderWatchFrame({ at, intervalMs: 2000, status: "daemon: running (pid 1)", jobs });
    const lines = frame.split("\n");
    expect(lines[0]).toMatch(/^runnerd status, every 2s, at .+ \(Ctrl-C to stop\)$/);
    expect(lines[2]).toBe("daemon: running (pid 1)");
    expect(lines).toContain("recent jobs:");
    expect(frame).toMatch(/5\s+acme\/web\s+CI \/ lint\s+web\s+rd-web-1\s+success\s+60s ago\s+10s\s+40s/);

    const quiet = renderWatchFrame({ at, intervalMs: 2000, status: "daemon: not running", jobs: [] });
    expect(quiet).not.toContain("recent jobs");
  });

  it("shows why a redraw failed", () => {
    expect(renderWatchFrame({ at, intervalMs: 5000, error: "LXD does not answer", jobs: [] }).split("\n")[2]).toBe("status failed: LXD does not answer");
  });
});
