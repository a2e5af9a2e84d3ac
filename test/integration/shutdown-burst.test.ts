// SIGTERM to `runnerd up` in the middle of a burst, with runners being collected and created: the
// daemon exits 0 within shutdown_timeout, and the next start picks up where it left off (every
// job runs exactly once and is recorded as succeeded, the floor comes back, nothing leaks).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStatusFile } from "../../src/daemon/state-files.js";
import { openStore } from "../../src/store/index.js";
import { createTestWorld, ensureBuilt, ensureTestImage, lxdOrSkip, startChildDaemon, waitFor, type ChildDaemon, type TestWorld } from "../support/lxd-harness.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("SIGTERM during a burst on a real LXD", () => {
  let world: TestWorld;
  const children: ChildDaemon[] = [];

  beforeAll(async () => {
    await Promise.all([ensureTestImage(), ensureBuilt()]);
    world = await createTestWorld();
  });

  afterAll(async () => {
    for (const child of children) await child.stop().catch(() => undefined);
    await world?.cleanup();
  });

  it("exits 0 within shutdown_timeout with collections in flight, and the next start finishes the burst", async () => {
    const repo = "acme/sigterm";
    world.writeConfig([{ name: "burst", repo, floor: 2, ceiling: 6 }]);
    world.pushToken({ repo });
    const first = startChildDaemon(world);
    children.push(first);
    await waitFor("2 listening runners", () => world.emulator.runners().filter((r) => r.listeningAt !== null).length >= 2 || undefined, 120_000);

    const jobs = Array.from({ length: 12 }, (_, i) =>
      world.emulator.enqueueJob({ scope: { repo }, labels: ["self-hosted"], name: `burst-${i}`, script: `echo "burst ${i} on $RUNNER_NAME"` }),
    );
    const atTerm = await waitFor("a collection and a spawn in flight", () => {
      const runners = readStatusFile(world.stateDir)?.runners ?? [];
      const deleting = runners.filter((r) => r.phase === "deleting").length;
      const creating = runners.filter((r) => r.phase === "creating").length;
      return deleting >= 1 && creating >= 1 ? { deleting, creating } : undefined;
    }, 120_000, 20);
    const sent = performance.now();
    first.process.kill("SIGTERM");
    const ended = await first.exited;
    const ms = Math.round(performance.now() - sent);
    console.info(`SIGTERM with ${atTerm.deleting} collection(s) and ${atTerm.creating} spawn(s) in flight: exit ${ended.code} in ${ms} ms`);
    expect(ended).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(20_000);

    const second = startChildDaemon(world);
    children.push(second);
    const done = await world.emulator.waitForJobs(jobs.map((j) => j.id), 240_000);
    for (const job of done) expect(job.conclusion, `${job.name}: ${job.log}`).toBe("success");
    const history = world.emulator.runnerHistory();
    for (const runner of history) expect(runner.jobIds.length, runner.name).toBeLessThanOrEqual(1);
    for (const job of done) expect(history.filter((r) => r.jobIds.includes(job.id)).length, job.name).toBe(1 + job.requeues);

    await waitFor("the floor of 2 idle runners and nothing else", async () => {
      const instances = await world.instances();
      const idle = new Set(world.emulator.runners().filter((r) => r.listeningAt !== null && r.jobIds.length === 0).map((r) => r.name));
      return instances.length === 2 && instances.every((i) => i.status === "Running" && idle.has(i.name)) || undefined;
    }, 120_000, 500);
    await second.stop();
    expect((await second.exited).code).toBe(0);

    const store = openStore(world.stateDir);
    try {
      const records = store.listRunners();
      for (const job of done) {
        const ranBy = records.filter((r) => r.jobName === job.name);
        expect(ranBy.map((r) => r.name), job.name).toEqual([job.runnerName]);
        expect(ranBy[0]?.outcome, job.name).toBe("succeeded");
      }
      console.info(`runner outcomes: ${records.map((r) => r.outcome ?? "live").sort().join(", ")}`);
    } finally {
      store.close();
    }
    expect(world.emulator.violations).toEqual([]);
  });
});
