import { describe, expect, it } from "vitest";
import { PoolBackoff } from "./backoff.js";
import { DeprecatedPools } from "./deprecation.js";
import { applyRunnerEnd, type RunnerEnd } from "./runner-ends.js";
import type { PoolRuntime } from "./settings.js";
import { fakeHistory, fakeImages, fakeObserver, poolRuntime, silentLogger } from "./test-support.js";

const now = 1_800_000_000_000;
const FP = "f".repeat(64);
const refused = "An error occured: Runner version v2.313.0 is deprecated and cannot receive messages.";

function world() {
  const history = fakeHistory();
  const observer = { ...fakeObserver(), updates: [] as [string, number][] };
  observer.selfUpdated = (pool, count) => void observer.updates.push([pool, count]);
  const images = fakeImages();
  const backoff = new PoolBackoff({ now: () => now, random: () => 0.5 });
  const deprecated = new DeprecatedPools();
  const apply = (end: Partial<RunnerEnd> & { runtime: PoolRuntime | undefined }) =>
    applyRunnerEnd(
      { pool: "web", runner: "rd-web-1", image: FP, createdAt: now - 60_000, facts: { outcome: "runner-deprecated", result: { listening_at: now / 1000 - 5, job_seen: false } }, detail: refused, result: null, ...end },
      { history, observer, images },
      { backoff, deprecated, now: () => now },
      silentLogger,
    );
  return { history, observer, images, backoff, deprecated, apply };
}

const built = (autoRebuild: boolean): PoolRuntime => ({ ...poolRuntime("web"), builtImage: { name: "default", autoRebuild } });

describe("applyRunnerEnd: a runner refused as deprecated", () => {
  it("blocks the pool once per image, and with auto_rebuild asks for one rebuild", () => {
    const w = world();
    w.apply({ runtime: built(true) });
    w.apply({ runtime: built(true), runner: "rd-web-2" });
    expect(w.deprecated.get("web")).toMatchObject({ fingerprint: FP, version: "2.313.0", message: expect.stringMatching(/auto_rebuild is building runnerd\/default/) });
    expect(w.images.rebuilds).toEqual([["default", expect.stringMatching(/runner rd-web-1 of pool web was refused/)]]);
    const events = w.history.of("addEvent").map(([e]) => e);
    expect(events).toEqual([
      expect.objectContaining({ kind: "runner-deprecated", level: "error", runner: "rd-web-1", message: expect.stringMatching(/^pool blocked: actions\/runner 2\.313\.0 in runnerd\/default is deprecated/) }),
      expect.objectContaining({ kind: "runner-deprecated", level: "warn", runner: "rd-web-2" }),
    ]);
    // it ended without a job: the pool backs off too, at the cap (the same image gets the same answer)
    expect(w.backoff.get("web")).toMatchObject({ terminal: true, count: 8 });
  });

  it("without auto_rebuild, blocks the pool and says what to run", () => {
    const w = world();
    w.apply({ runtime: built(false) });
    expect(w.images.rebuilds).toEqual([]);
    expect(w.deprecated.get("web")?.message).toMatch(/run 'runnerd image build default'/);
  });

  it("for an image runnerd does not build, says to rebuild it with a newer actions/runner", () => {
    const w = world();
    w.apply({ runtime: { ...poolRuntime("web"), image: "my-runner" } });
    expect(w.images.rebuilds).toEqual([]);
    expect(w.deprecated.get("web")?.message).toMatch(/rebuild the image with a newer actions\/runner/);
  });

  it("a pool that left the configuration records the event but blocks nothing", () => {
    const w = world();
    w.apply({ runtime: undefined });
    expect(w.deprecated.blocked().size).toBe(0);
    expect(w.history.of("addEvent")).toEqual([[expect.objectContaining({ kind: "runner-deprecated", level: "warn" })]]);
  });
});

describe("applyRunnerEnd: self-updates", () => {
  it("counts them, records an event and, with auto_rebuild, asks for a check", () => {
    const w = world();
    w.apply({ runtime: built(true), facts: { outcome: "succeeded", result: { listening_at: 1, job_seen: true } }, detail: undefined, result: { updates: 1 } });
    expect(w.observer.updates).toEqual([["web", 1]]);
    expect(w.history.of("addEvent")).toEqual([[expect.objectContaining({ kind: "runner-self-updated", level: "warn", message: expect.stringMatching(/updated actions\/runner itself 1 time\(s\): runnerd\/default is behind/) })]]);
    expect(w.images.checks).toEqual([["default", expect.any(String)]]);
    expect(w.backoff.get("web")).toBeUndefined();
  });

  it("without auto_rebuild only counts and records", () => {
    const w = world();
    w.apply({ runtime: built(false), facts: { outcome: "no-job", result: { listening_at: 1, job_seen: false } }, detail: undefined, result: { updates: 2 } });
    expect(w.observer.updates).toEqual([["web", 2]]);
    expect(w.images.checks).toEqual([]);
    // it updated and then ended without a job: that counts against the pool
    expect(w.backoff.get("web")).toMatchObject({ count: 1 });
  });
});

describe("applyRunnerEnd: a runner that ran a job", () => {
  it.each<[string, number, boolean]>([
    ["made after the pool's last failure: the pool works, its backoff ends", now + 1000, true],
    ["made before it: proves nothing about new spawns", now - 1000, false],
  ])("%s", (_name, createdAt, ends) => {
    const w = world();
    w.backoff.fail("web", "earlier failure", false);
    w.apply({ runtime: built(false), createdAt, facts: { outcome: "succeeded", result: { listening_at: 1, job_seen: true } }, detail: undefined });
    expect(w.backoff.get("web") === undefined).toBe(ends);
  });

  it("a job seen by a pass counts even when the result is lost", () => {
    const w = world();
    w.backoff.fail("web", "earlier failure", false);
    w.apply({ runtime: built(false), createdAt: now + 1000, facts: { outcome: "lost", result: null, sawJob: true }, detail: undefined });
    expect(w.backoff.get("web")).toBeUndefined();
  });
});
