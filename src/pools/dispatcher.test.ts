import { describe, expect, it } from "vitest";
import { Dispatcher, isStale, retryDelayMs } from "./dispatcher.js";
import { deferred, settle } from "./test-support.js";
import type { Action } from "./types.js";

describe("isStale", () => {
  it.each<[number | undefined, number, boolean]>([
    [undefined, 0, false], // no action on this runner ever finished
    [undefined, 5, false],
    [2, 3, false], // finished before the snapshot was taken
    [3, 3, true], // the first action to finish after the snapshot was taken
    [7, 3, true],
  ])("finished at %s, snapshot at %i: stale %s", (finished, mark, expected) => {
    expect(isStale(finished, mark)).toBe(expected);
  });
});

const collect = (runner: string): Action => ({ kind: "collect", pool: "web", runner, reason: "instance stopped", forceStop: false });
const spawn: Action = { kind: "spawn", pool: "web", reason: "0 of 1" };
const bounds = (n: number, collect = n) => ({ spawn: n, collect });
const hooks = (log: string[] = []) => ({ onError: (err: unknown) => void log.push(`error ${String(err)}`), onDone: () => void log.push("done") });

describe("Dispatcher", () => {
  it("runs an action in the background and tracks it in flight", async () => {
    const d = new Dispatcher(bounds(2), () => 42);
    const gate = deferred();
    const log: string[] = [];
    expect(d.dispatch(collect("a"), "a", d.mark(), () => gate.promise, hooks(log))).toBe("started");
    expect(d.inFlight.get("a")).toEqual({ kind: "collect", pool: "web", startedAt: 42 });
    expect(d.dispatch(collect("a"), "a", d.mark(), async () => undefined, hooks(log))).toBe("in-flight");
    gate.resolve();
    await d.drain();
    expect(d.inFlight.size).toBe(0);
    expect(log).toEqual(["done"]);
  });

  it("skips a plan made before the runner's last action finished", async () => {
    const d = new Dispatcher(bounds(2), () => 0);
    const before = d.mark();
    d.dispatch(collect("a"), "a", before, async () => undefined, hooks());
    await d.drain();
    // The pass that observed at `before` still sees "a" and plans it again: stale.
    expect(d.dispatch(collect("a"), "a", before, async () => undefined, hooks())).toBe("stale");
    // A pass that observed after the finish may act on it.
    expect(d.dispatch(collect("a"), "a", d.mark(), async () => undefined, hooks())).toBe("started");
    await d.drain();
  });

  it("holds back the next action on a runner whose last one threw, 1 s doubling to a minute, and forgets that once one succeeds", async () => {
    let now = 0;
    const d = new Dispatcher(bounds(2), () => now);
    const fail = async () => {
      throw new Error("boom");
    };
    d.dispatch(collect("a"), "a", d.mark(), fail, hooks());
    await d.drain();
    expect(d.dispatch(collect("a"), "a", d.mark(), fail, hooks())).toBe("retry-later");
    now = 1000;
    expect(d.dispatch(collect("a"), "a", d.mark(), fail, hooks())).toBe("started");
    await d.drain();
    now = 2999;
    expect(d.dispatch(collect("a"), "a", d.mark(), async () => undefined, hooks())).toBe("retry-later");
    now = 3000;
    expect(d.dispatch(collect("a"), "a", d.mark(), async () => undefined, hooks())).toBe("started");
    await d.drain();
    expect(d.dispatch(collect("a"), "a", d.mark(), async () => undefined, hooks())).toBe("started");
    await d.drain();
    expect([1, 2, 3, 7, 20].map(retryDelayMs)).toEqual([1000, 2000, 4000, 60_000, 60_000]);
  });

  it("reports errors to the hook and still finishes", async () => {
    const d = new Dispatcher(bounds(1), () => 0);
    const log: string[] = [];
    d.dispatch(collect("a"), "a", d.mark(), () => Promise.reject(new Error("boom")), hooks(log));
    await d.drain();
    expect(log).toEqual(["error Error: boom", "done"]);
  });

  it("bounds how many collections run at once", async () => {
    const d = new Dispatcher(bounds(2), () => 0);
    const gates = [deferred(), deferred(), deferred()];
    let running = 0;
    let most = 0;
    gates.forEach((g, i) =>
      d.dispatch(collect(`r${i}`), `r${i}`, d.mark(), async () => {
        running++;
        most = Math.max(most, running);
        await g.promise;
        running--;
      }, hooks()),
    );
    await settle();
    expect(running).toBe(2);
    gates.forEach((g) => g.resolve());
    await d.drain();
    expect(most).toBe(2);
  });

  it("marks each dispatched spawn with a serial per pool", () => {
    const d = new Dispatcher(bounds(4), () => 0);
    d.dispatch(spawn, "s1", d.mark(), () => new Promise(() => undefined), hooks());
    d.dispatch({ ...spawn, pool: "api" }, "s2", d.mark(), () => new Promise(() => undefined), hooks());
    d.dispatch(spawn, "s3", d.mark(), () => new Promise(() => undefined), hooks());
    expect(d.lastSpawnAt).toEqual(new Map([["web", 3], ["api", 2]]));
  });

  it("dispatches nothing once closed", () => {
    const d = new Dispatcher(bounds(4), () => 0);
    d.close();
    expect(d.dispatch(spawn, "s1", d.mark(), async () => undefined, hooks())).toBe("closed");
    expect(d.busy).toBe(false);
  });

  it("starts a collection at once while every spawn slot is held", async () => {
    const d = new Dispatcher(bounds(2, 2), () => 0);
    const spawns = [deferred(), deferred(), deferred()];
    const started: string[] = [];
    spawns.forEach((g, i) =>
      d.dispatch(spawn, `s${i}`, d.mark(), async () => {
        started.push(`s${i}`);
        await g.promise;
      }, hooks()),
    );
    await settle();
    expect(started).toEqual(["s0", "s1"]); // the third spawn waits for a spawn slot
    const collected = deferred();
    d.dispatch(collect("a"), "a", d.mark(), async () => {
      started.push("a");
      await collected.promise;
    }, hooks());
    d.dispatch({ kind: "delete", pool: "web", runner: "b", reason: "surplus", outcome: "surplus" }, "b", d.mark(), async () => void started.push("b"), hooks());
    await settle();
    expect(started).toEqual(["s0", "s1", "a", "b"]);
    spawns[0]?.resolve();
    await settle();
    expect(started).toEqual(["s0", "s1", "a", "b", "s2"]);
    collected.resolve();
    spawns.forEach((g) => g.resolve());
    await d.drain();
  });

  it("never lets spawns wait behind hung collections", async () => {
    const d = new Dispatcher(bounds(1, 1), () => 0);
    d.dispatch(collect("a"), "a", d.mark(), () => new Promise(() => undefined), hooks());
    let spawned = false;
    d.dispatch(spawn, "s1", d.mark(), async () => void (spawned = true), hooks());
    await settle();
    expect(spawned).toBe(true);
  });

  it("keeps one runner's collect and delete apart across the bounds", async () => {
    const d = new Dispatcher(bounds(1, 1), () => 0);
    const gate = deferred();
    expect(d.dispatch(collect("a"), "a", d.mark(), () => gate.promise, hooks())).toBe("started");
    // A plan asking to delete the same runner while it is collected (or queued) must not act twice.
    expect(d.dispatch({ kind: "delete", pool: "web", runner: "a", reason: "surplus", outcome: "surplus" }, "a", d.mark(), async () => undefined, hooks())).toBe("in-flight");
    gate.resolve();
    await d.drain();
  });

  it("applies a new bound to each kind on its own", async () => {
    const d = new Dispatcher(bounds(1, 1), () => 0);
    d.setConcurrency({ spawn: 1, collect: 3 });
    const gates = [deferred(), deferred(), deferred()];
    let running = 0;
    gates.forEach((g, i) =>
      d.dispatch(collect(`r${i}`), `r${i}`, d.mark(), async () => {
        running++;
        await g.promise;
      }, hooks()),
    );
    await settle();
    expect(running).toBe(3);
    gates.forEach((g) => g.resolve());
    await d.drain();
  });

  it("drops actions still queued when it closes, and lets those under way finish", async () => {
    const d = new Dispatcher(bounds(1, 1), () => 0);
    const gate = deferred();
    const ran: string[] = [];
    const log: string[] = [];
    d.dispatch(collect("a"), "a", d.mark(), async () => {
      ran.push("a");
      await gate.promise;
    }, hooks(log));
    d.dispatch(collect("b"), "b", d.mark(), async () => void ran.push("b"), hooks(log));
    await settle();
    d.close();
    gate.resolve();
    await d.drain();
    expect(ran).toEqual(["a"]);
    expect(log).toEqual(["done", "done"]);
    expect(d.inFlight.size).toBe(0);
  });
});
