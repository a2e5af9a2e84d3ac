import { describe, expect, it } from "vitest";
import { Dispatcher, isStale } from "./dispatcher.js";
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
const hooks = (log: string[] = []) => ({ onError: (err: unknown) => void log.push(`error ${String(err)}`), onDone: () => void log.push("done") });

describe("Dispatcher", () => {
  it("runs an action in the background and tracks it in flight", async () => {
    const d = new Dispatcher(2, () => 42);
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
    const d = new Dispatcher(2, () => 0);
    const before = d.mark();
    d.dispatch(collect("a"), "a", before, async () => undefined, hooks());
    await d.drain();
    // The pass that observed at `before` still sees "a" and plans it again: stale.
    expect(d.dispatch(collect("a"), "a", before, async () => undefined, hooks())).toBe("stale");
    // A pass that observed after the finish may act on it.
    expect(d.dispatch(collect("a"), "a", d.mark(), async () => undefined, hooks())).toBe("started");
    await d.drain();
  });

  it("reports errors to the hook and still finishes", async () => {
    const d = new Dispatcher(1, () => 0);
    const log: string[] = [];
    d.dispatch(collect("a"), "a", d.mark(), () => Promise.reject(new Error("boom")), hooks(log));
    await d.drain();
    expect(log).toEqual(["error Error: boom", "done"]);
  });

  it("bounds how many actions run at once", async () => {
    const d = new Dispatcher(2, () => 0);
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
    const d = new Dispatcher(4, () => 0);
    d.dispatch(spawn, "s1", d.mark(), () => new Promise(() => undefined), hooks());
    d.dispatch({ ...spawn, pool: "api" }, "s2", d.mark(), () => new Promise(() => undefined), hooks());
    d.dispatch(spawn, "s3", d.mark(), () => new Promise(() => undefined), hooks());
    expect(d.lastSpawnAt).toEqual(new Map([["web", 3], ["api", 2]]));
  });

  it("dispatches nothing once closed", () => {
    const d = new Dispatcher(4, () => 0);
    d.close();
    expect(d.dispatch(spawn, "s1", d.mark(), async () => undefined, hooks())).toBe("closed");
    expect(d.busy).toBe(false);
  });
});
