import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "./open.js";
import type { Store } from "./open.js";
import { makeStateDir } from "./test-support.js";

let store: Store | undefined;
afterEach(() => store?.close());

const t = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute));

function newRunner(name: string, pool = "web", minute = 0) {
  return { name, pool, scope: "repo:o/r", image: "runnerd/default", createdAt: t(minute) };
}

describe("runners", () => {
  it("records a whole life, and every step again without changing it", () => {
    store = openStore(makeStateDir());
    const s = store;
    const life = () => {
      s.recordRunnerCreated(newRunner("rd-web-1"));
      expect(s.markRunnerListening("rd-web-1", t(1))).toBe(true);
      expect(s.markRunnerBusy("rd-web-1", t(2), "build")).toBe(true);
      expect(s.markRunnerStopped("rd-web-1", t(3))).toBe(true);
      expect(
        s.recordRunnerResult("rd-web-1", { exitCode: 0, jobSeen: true, outcome: "succeeded", finishedAt: t(3) }),
      ).toBe(true);
      expect(s.markRunnerDeleted("rd-web-1", t(4))).toBe(true);
    };
    life();
    const first = s.getRunner("rd-web-1");
    expect(first).toEqual({
      name: "rd-web-1",
      pool: "web",
      scope: "repo:o/r",
      image: "runnerd/default",
      createdAt: t(0),
      listeningAt: t(1),
      busyAt: t(2),
      jobName: "build",
      stoppedAt: t(3),
      finishedAt: t(3),
      exitCode: 0,
      jobSeen: true,
      outcome: "succeeded",
      detail: null,
      deletedAt: t(4),
    });
    life();
    expect(s.getRunner("rd-web-1")).toEqual(first);
  });

  it("keeps the first result when a different one is recorded later", () => {
    store = openStore(makeStateDir());
    store.recordRunnerCreated(newRunner("rd-web-1"));
    store.recordRunnerResult("rd-web-1", { exitCode: null, jobSeen: false, outcome: "boot-timeout", detail: "not listening after 5m", finishedAt: t(5) });
    store.recordRunnerResult("rd-web-1", { exitCode: 1, jobSeen: true, outcome: "failed", finishedAt: t(6) });
    expect(store.getRunner("rd-web-1")).toMatchObject({
      exitCode: null,
      jobSeen: false,
      outcome: "boot-timeout",
      detail: "not listening after 5m",
      finishedAt: t(5),
      listeningAt: null,
      busyAt: null,
      jobName: null,
    });
  });

  it("tells the caller when a runner has no record", () => {
    store = openStore(makeStateDir());
    expect(store.markRunnerListening("rd-web-x", t(1))).toBe(false);
    expect(store.recordRunnerResult("rd-web-x", { exitCode: 0, jobSeen: true, outcome: "succeeded", finishedAt: t(1) })).toBe(false);
    expect(store.getRunner("rd-web-x")).toBeNull();
  });

  it("lists newest first, by pool, active only and limited", () => {
    store = openStore(makeStateDir());
    store.recordRunnerCreated(newRunner("rd-web-a", "web", 1));
    store.recordRunnerCreated(newRunner("rd-api-b", "api", 2));
    store.recordRunnerCreated(newRunner("rd-web-c", "web", 3));
    store.markRunnerDeleted("rd-web-c", t(4));
    const names = (options?: Parameters<Store["listRunners"]>[0]) => store?.listRunners(options).map((r) => r.name);
    expect(names()).toEqual(["rd-web-c", "rd-api-b", "rd-web-a"]);
    expect(names({ pool: "web" })).toEqual(["rd-web-c", "rd-web-a"]);
    expect(names({ activeOnly: true })).toEqual(["rd-api-b", "rd-web-a"]);
    expect(names({ pool: "web", activeOnly: true })).toEqual(["rd-web-a"]);
    expect(names({ limit: 1 })).toEqual(["rd-web-c"]);
  });
});
