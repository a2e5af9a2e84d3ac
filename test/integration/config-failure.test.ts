// Runners that end without a job (here: GitHub refuses the registration token, as it would a
// revoked or mistyped one, before they ever listen) make their pool back off instead of
// recreating containers in a hot loop, and the pool's status says why.
import { describe, expect, it } from "vitest";
import { readStatusFile } from "../../src/daemon/state-files.js";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(lxd.skip)("runners that fail to configure on a real LXD", () => {
  const t = useDaemonWorld();

  it("back off when GitHub refuses the token, and recover once a good token is pushed", async () => {
    t.world.writeConfig([{ name: "refused", repo: "acme/refused", floor: 1 }]);
    t.world.pushToken({ repo: "acme/refused" });
    // The store believes the token is good for an hour; GitHub no longer accepts it.
    t.world.emulator.expireRegistrationTokens();
    const daemon = await t.startDaemon();
    const configFailed = () => (daemon?.store.listRunners({ limit: 1000 }) ?? []).filter((r) => r.outcome === "config-failed");

    await waitFor("a runner refused by GitHub", () => configFailed().length > 0 || undefined, 60_000);
    const before = configFailed().length;
    await sleep(20_000);
    const during = configFailed().length - before;
    console.info(`runners refused in 20 s: ${during}`);
    // Without backoff a refused runner comes back every ~2 s (about 10 in 20 s); with it, a few.
    expect(during).toBeLessThanOrEqual(6);
    const pool = readStatusFile(t.world.stateDir)?.pools.find((p) => p.name === "refused");
    expect(pool?.lastError?.message).toMatch(/ended without a job \(config-failed/);
    expect(t.world.emulator.runners()).toEqual([]);

    // A good token: the next runner registers, and once a runner made after the last failure has
    // run a job (or listened for 90 s), the pool's failure is forgotten. Two jobs: the first may go
    // to a runner made just before the last refused one was collected, which proves nothing.
    t.world.pushToken({ repo: "acme/refused" });
    await waitFor("a listening runner after a good token", () => t.world.emulator.runners().some((r) => r.listeningAt !== null) || undefined, 120_000);
    const jobs = [1, 2].map((n) => t.world.emulator.enqueueJob({ scope: { repo: "acme/refused" }, labels: ["self-hosted"], name: `after-token-${n}`, script: "true" }));
    await t.world.emulator.waitForJobs(jobs.map((j) => j.id), 120_000);
    await waitFor("the failure forgotten", () => readStatusFile(t.world.stateDir)?.pools.find((p) => p.name === "refused" && !p.lastError) ?? undefined, 30_000);
    expect(t.world.emulator.violations).toEqual([]);
  });
});
