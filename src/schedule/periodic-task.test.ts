import { describe, expect, it, vi } from "vitest";
import { PeriodicTask } from "./periodic-task.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("PeriodicTask", () => {
  it("shares a run between concurrent callers", async () => {
    let runs = 0;
    const task = new PeriodicTask(async () => {
      runs++;
      await sleep(20);
      return runs;
    }, () => 1000);
    expect(await Promise.all([task.run(), task.run()])).toEqual([1, 1]);
    await task.stop();
  });

  it("does not schedule another run when stopped while a run is under way", async () => {
    let runs = 0;
    const task = new PeriodicTask(async () => {
      runs++;
      await sleep(50);
    }, () => 10);
    task.start(0);
    await sleep(20); // the first run is under way
    await task.stop();
    await sleep(60);
    expect(runs).toBe(1);
  });

  it("keeps its schedule after a failed run", async () => {
    let runs = 0;
    const task = new PeriodicTask(async () => {
      runs++;
      throw new Error("boom");
    }, () => 10);
    task.start(0);
    await sleep(60);
    await task.stop();
    expect(runs).toBeGreaterThan(1);
  });

  it("waits an interval longer than a timer can hold (30d) in steps, instead of firing at once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const day = 86_400_000;
      let runs = 0;
      const task = new PeriodicTask(async () => void runs++, () => 30 * day);
      task.start(30 * day);
      await vi.advanceTimersByTimeAsync(1000);
      expect(runs).toBe(0);
      await vi.advanceTimersByTimeAsync(30 * day - 1001);
      expect(runs).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(runs).toBe(1);
      await vi.advanceTimersByTimeAsync(29 * day);
      expect(runs).toBe(1);
      await vi.advanceTimersByTimeAsync(day);
      expect(runs).toBe(2);
      await task.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
