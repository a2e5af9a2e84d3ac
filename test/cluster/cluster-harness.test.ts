// The test cluster's harness (test/support/cluster-harness.ts) against the live cluster: the CLI
// pointed at each member, the daemons' pids, evacuate and restore, and skipping without a cluster.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli, clusterBackend, clusterOrSkip, clusterUnavailableReason, evacuate, memberNames, memberPid, members, memberSocket, pointHarnessAtCluster, restore } from "../support/cluster-harness.js";
import { backendSocket, ensureTestImage, lxdUnavailableReason, testImage } from "../support/lxd-harness.js";

const gate = await clusterOrSkip();
const runId = `${process.pid.toString(36)}${Date.now().toString(36)}`;

describe("clusterOrSkip without a cluster", () => {
  const empty = mkdtempSync(join(tmpdir(), "runnerd-no-cluster-"));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it("skips with the reason, or fails with RUNNERD_REQUIRE_CLUSTER=1", async () => {
    expect(await clusterUnavailableReason(empty)).toMatch(/does not exist/);
    const saved = process.env.RUNNERD_REQUIRE_CLUSTER;
    try {
      delete process.env.RUNNERD_REQUIRE_CLUSTER;
      expect(await clusterOrSkip(empty)).toMatchObject({ skip: true, reason: expect.stringContaining(empty) });
      process.env.RUNNERD_REQUIRE_CLUSTER = "1";
      await expect(clusterOrSkip(empty)).rejects.toThrow(/RUNNERD_REQUIRE_CLUSTER=1/);
    } finally {
      if (saved === undefined) delete process.env.RUNNERD_REQUIRE_CLUSTER;
      else process.env.RUNNERD_REQUIRE_CLUSTER = saved;
    }
  });
});

describe.skipIf(gate.skip)(`the ${clusterBackend()} cluster harness`, () => {
  const name = `rc-harness-${runId}`;

  afterAll(async () => {
    await restore("m2").catch(() => undefined);
    await cli(["delete", "--force", name]).catch(() => undefined);
  });

  it("points the CLI at each member, which sees the same three members", async () => {
    for (const via of memberNames) {
      const list = await members(via);
      expect(list.map((m) => m.server_name).sort()).toEqual(["m1", "m2", "m3"]);
      expect(list.every((m) => m.status === "Online")).toBe(true);
      const info = JSON.parse(await cli(["query", "/1.0"], { member: via })) as { environment: { server_name: string } };
      expect(info.environment.server_name).toBe(via);
    }
  });

  it("finds each member's daemon pid, all different", async () => {
    const pids = await Promise.all(memberNames.map((m) => memberPid(m)));
    expect(pids.every((p) => typeof p === "number" && p > 1)).toBe(true);
    expect(new Set(pids).size).toBe(3);
  });

  it("points the LXD harness (socket, image script) at a member, and back", async () => {
    const before = process.env.RUNNERD_LXD_SOCKET;
    const putBack = pointHarnessAtCluster("m2");
    try {
      expect(backendSocket()).toBe(memberSocket("m2"));
      expect(await lxdUnavailableReason()).toBeUndefined();
      // The image script finds the image current through m2 (the cluster shares its images).
      await ensureTestImage();
    } finally {
      putBack();
    }
    expect(process.env.RUNNERD_LXD_SOCKET).toBe(before);
  });

  it("evacuates a member (its instance moves away) and restores it", async () => {
    await cli(["launch", testImage, name, "--target", "m2"]);
    const location = async () => (JSON.parse(await cli(["query", `/1.0/instances/${name}`])) as { location: string }).location;
    expect(await location()).toBe("m2");
    const started = performance.now();
    await evacuate("m2");
    const evacuateMs = Math.round(performance.now() - started);
    expect((await members()).find((m) => m.server_name === "m2")?.status).toBe("Evacuated");
    expect(await location()).not.toBe("m2");
    await restore("m2");
    expect((await members()).find((m) => m.server_name === "m2")?.status).toBe("Online");
    // Restoring moves the evacuated instance back.
    expect(await location()).toBe("m2");
    console.log(`[cluster-harness] evacuate with one container took ${evacuateMs} ms`);
  });
});
