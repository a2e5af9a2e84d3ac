// A runner version GitHub refuses, on a real LXD: the first runner of the pool is refused right
// after it listens ("Runner version v2.330.0 is deprecated and cannot receive messages"); the pool
// is blocked (no runner of that image is made again), and status, the event log and the metrics say
// what to do. Resuming when the image moves is covered by the unit tests (deprecation.test.ts).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("a deprecated runner version blocks its pool (real LXD)", () => {
  const t = useDaemonWorld();

  it("blocks the pool after the first refused runner, and says what to do", async () => {
    const emu = t.world.emulator;
    const repo = "acme/old";
    const pat = join(t.world.stateDir, "github-pat");
    writeFileSync(pat, `${emu.pat}\n`, { mode: 0o600 });
    emu.setMinimumRunnerVersion("2.334.0"); // the fake runner is 2.330.0
    t.world.writeConfig([{ name: "old", repo, floor: 1, ceiling: 2, labels: ["old"] }], { github: { emu: { url: emu.url, auth: { type: "pat", token_file: pat } } } });
    const daemon = await t.startDaemon({ sweepDelayMs: 3_600_000 });

    const pool = await waitFor("the pool blocked", () => {
      const p = daemon.reconciler.status()?.pools.find((x) => x.name === "old");
      return p?.blocked === "runner-deprecated" ? p : undefined;
    }, 120_000);
    expect(pool.deprecated?.message).toMatch(/actions\/runner 2\.330\.0 in runnerd-test\/busybox is deprecated: GitHub refuses its runners; rebuild the image with a newer actions\/runner/);
    expect(daemon.store.listRunners({}).filter((r) => r.outcome === "runner-deprecated").length).toBeGreaterThanOrEqual(1);
    // At most the replacement spawned in the pass that collected the first one; then nothing more.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    expect(emu.runnerHistory().length).toBeLessThanOrEqual(2);
    await waitFor("no runner left", async () => (await t.world.instances()).length === 0 || undefined, 60_000);
    expect(daemon.reconciler.status()?.pools.find((x) => x.name === "old")?.blocked).toBe("runner-deprecated");
    const metrics = await (await fetch(`${daemon.http.url}/metrics`)).text();
    expect(metrics).toContain('runnerd_pool_blocked{pool="old",reason="runner-deprecated"} 1');
    expect(daemon.store.listEvents({ limit: 50 }).some((e) => e.kind === "runner-deprecated" && e.level === "error" && e.message.startsWith("pool blocked:"))).toBe(true);
    expect(emu.violations).toEqual([]);
  }, 240_000);
});
