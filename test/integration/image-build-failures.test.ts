// A build that fails, and one interrupted with Ctrl-C, leave no builder instance behind and say
// why; the image alias is not touched.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BUILDER_KEY, imageAlias } from "../../src/images/index.js";
import { createTestWorld, ensureBuilt, lxdOrSkip, repoRoot, runCli, runnerdBin, waitFor } from "../support/lxd-harness.js";
import { debianSourceImage, ensureDebianSourceImage, startAptCache } from "../support/images/docker-test-images.js";

const lxd = await lxdOrSkip();

describe.skipIf(lxd.skip)("image build failures on a real LXD", () => {
  it("a failing recipe exits non-zero with its last lines, and the builder is removed", { timeout: 10 * 60_000 }, async () => {
    const [proxy] = await Promise.all([startAptCache(), ensureDebianSourceImage(), ensureBuilt()]);
    const world = await createTestWorld();
    try {
      const images = { broken: { source: debianSourceImage, packages: ["runnerd-no-such-package"], docker: false, proxy } };
      world.writeConfig([{ name: "web", floor: 0, image: imageAlias("broken") }], { images });
      const result = await runCli(["--config", world.configPath, "image", "build", "broken"], { timeoutMs: 8 * 60_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/the recipe failed with exit code 100; its last lines:/);
      expect(result.stderr).toContain("Unable to locate package runnerd-no-such-package");
      expect(result.stdout).toMatch(/\[runnerd\] creating builder runnerd-build-broken-[0-9a-f]{6}/);
      expect(await world.lxd.listInstances({ configKey: BUILDER_KEY, value: "broken" })).toEqual([]);
      expect(await world.lxd.getImageAlias(imageAlias("broken"))).toBeNull();
    } finally {
      await world.cleanup();
    }
  });

  it("Ctrl-C during the recipe removes the builder", { timeout: 10 * 60_000 }, async () => {
    const [proxy] = await Promise.all([startAptCache(), ensureDebianSourceImage(), ensureBuilt()]);
    const world = await createTestWorld();
    try {
      const images = { slow: { source: debianSourceImage, packages: [], docker: false, proxy, steps: ["sleep 600"] } };
      world.writeConfig([{ name: "web", floor: 0, image: imageAlias("slow") }], { images });
      const child = spawn(process.execPath, [runnerdBin, "--config", world.configPath, "image", "build", "slow"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      await waitFor("the build to reach its step", () => out.includes("step 1: sleep 600"), 6 * 60_000, 500);
      expect(await world.lxd.listInstances({ configKey: BUILDER_KEY, value: "slow" })).toHaveLength(1);
      child.kill("SIGINT");
      expect(await exited).toBe(1);
      expect(out).toContain("interrupted: removing the builder");
      expect(out).toContain("runnerd: build interrupted");
      expect(await world.lxd.listInstances({ configKey: BUILDER_KEY, value: "slow" })).toEqual([]);
    } finally {
      await world.cleanup();
    }
  });
});
