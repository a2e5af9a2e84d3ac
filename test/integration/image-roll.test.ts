// Keeping the runner current against the real LXD: `runnerd image build`, `image list` and
// `image rm` through the CLI, then a new actions/runner release at the emulator; the daemon's
// check (auto_rebuild on) rebuilds the image, and the pool rolls its idle runner to it.
import { describe, expect, it } from "vitest";
import { imageAlias, propertyKeys } from "../../src/images/index.js";
import { ensureBuilt, lxdOrSkip, runCli, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";
import { debianSourceImage, ensureDebianSourceImage, startAptCache } from "../support/images/docker-test-images.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("rolling a pool to a rebuilt image", () => {
  const t = useDaemonWorld();

  it("builds, lists, refuses to remove a used image, rebuilds on a new runner release and replaces the idle runner", { timeout: 30 * 60_000 }, async () => {
    const [proxy] = await Promise.all([startAptCache(), ensureDebianSourceImage(), ensureBuilt()]);
    // No Docker: this test is about versions and rolling, and builds twice.
    t.world.trackImage("roll");
    const images = { roll: { source: debianSourceImage, packages: [], docker: false, proxy, auto_rebuild: true } };
    t.world.writeConfig([{ name: "roll", repo: "acme/roll", floor: 1, ceiling: 1, image: imageAlias("roll") }], { images, runner_check_interval: "1h" });
    const cli = (...args: string[]) => runCli(["--config", t.world.configPath, ...args], { timeoutMs: 20 * 60_000 });

    const build = await cli("image", "build", "roll");
    expect(build.code, build.stdout + build.stderr).toBe(0);
    const again = await cli("image", "build", "roll", "--if-changed");
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/runnerd\/roll is current \(recipe [0-9a-f]{16}, actions\/runner 2\.330\.0\); nothing to build/);

    const list = await cli("image", "list", "--json");
    expect(list.code, list.stderr).toBe(0);
    const entry = (JSON.parse(list.stdout) as { name: string; aliases: string[]; runnerVersion: string; pools: string[]; fingerprint: string }[]).find((e) => e.name === "roll");
    expect(entry).toMatchObject({ aliases: ["runnerd/roll"], runnerVersion: "2.330.0", pools: ["roll"] });
    const rm = await cli("image", "rm", "roll");
    expect(rm.code).toBe(2);
    expect(rm.stderr).toMatch(/is used by pool\(s\) roll/);
    const first = entry?.fingerprint ?? "";

    t.world.pushToken({ repo: "acme/roll" });
    const daemon = await t.startDaemon({ runnerCheckDelayMs: 3_600_000 });
    const oldRunner = await waitFor("a listening runner of the first image", () => t.world.emulator.runners().find((r) => r.listeningAt !== null), 180_000);
    expect((await t.world.lxd.getInstance(oldRunner.name))?.config["volatile.base_image"]).toBe(first);

    await daemon.runnerUpdates.check();
    expect(daemon.runnerUpdates.status()).toEqual([expect.objectContaining({ name: "roll", level: "current", runnerVersion: "2.330.0", latest: "2.330.0" })]);

    await t.world.emulator.publishRunnerRelease("2.331.0");
    await daemon.runnerUpdates.check();
    const [report] = daemon.runnerUpdates.status();
    expect(report).toMatchObject({ name: "roll", level: "current", runnerVersion: "2.331.0", latest: "2.331.0", lastBuild: { ok: true } });
    const second = report?.fingerprint ?? "";
    expect(second).not.toBe(first);
    const rebuilt = await t.world.lxd.getImage(second);
    expect(rebuilt?.properties[propertyKeys.runnerVersion]).toBe("2.331.0");

    // The idle runner of the old image is replaced; the new one runs the new runner.
    const newRunner = await waitFor("a listening runner of the rebuilt image", async () => {
      const candidate = t.world.emulator.runners().find((r) => r.listeningAt !== null && r.name !== oldRunner.name);
      if (!candidate) return undefined;
      return (await t.world.lxd.getInstance(candidate.name))?.config["volatile.base_image"] === second ? candidate : undefined;
    }, 180_000);
    await waitFor("the old runner's instance to be gone", async () => (await t.world.lxd.getInstance(oldRunner.name)) === null, 60_000);
    const job = t.world.emulator.enqueueJob({ scope: { repo: "acme/roll" }, labels: ["self-hosted"], name: "version", script: "echo runner-version=$(cat /opt/actions-runner/VERSION)" });
    const [done] = await t.world.emulator.waitForJobs([job.id], 120_000);
    expect(done?.conclusion, done?.log).toBe("success");
    expect(done?.runnerName).toBe(newRunner.name);
    expect(done?.log).toContain("runner-version=2.331.0");
    expect(t.world.emulator.violations).toEqual([]);
  });
});
