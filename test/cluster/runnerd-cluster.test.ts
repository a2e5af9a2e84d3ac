// runnerd driving the 3-member test cluster (issue 14, item 7): the daemon talks to m1's socket,
// runners are placed over the members, a pool can be pinned to one member, a member's daemon is
// killed mid-run, one is evacuated. Runners reach the GitHub emulator on the host through their
// proxy device, whose far end is dialled from the member's network namespace: a forwarder on the
// test bridge's host address leads to the emulator on the host's loopback.
import type { Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDaemon, type Daemon } from "../../src/daemon/daemon.js";
import { createLogger } from "../../src/log.js";
import { openStore } from "../../src/store/index.js";
import { bridgeAddress, clusterBackend, clusterOrSkip, emulatorDevice, evacuate, forwardToLoopback, killMember, pointHarnessAtCluster, restartMember, restore } from "../support/cluster-harness.js";
import { createTestWorld, ensureBuilt, runCli, testImage, waitFor, type PoolInput, type TestWorld } from "../support/lxd-harness.js";

const gate = await clusterOrSkip();

describe.skipIf(gate.skip)(`runnerd on a 3-member ${clusterBackend()} cluster`, () => {
  let world: TestWorld;
  let daemon: Daemon | undefined;
  let forwarder: Server;
  let restoreEnv: () => void;

  beforeAll(async () => {
    restoreEnv = pointHarnessAtCluster("m1");
    world = await createTestWorld();
    forwarder = await forwardToLoopback(bridgeAddress(), world.emulator.port);
  });

  afterAll(async () => {
    await daemon?.shutdown();
    await world?.cleanup();
    forwarder?.close();
    restoreEnv?.();
  });

  /** The emulator through the forwarder, from inside a member's network namespace. */
  const pool = (p: PoolInput): PoolInput => ({ ...p, idleTimeout: "2s", devices: emulatorDevice(world.emulator.port) });

  async function configure(pools: PoolInput[], cluster: Record<string, unknown> = {}): Promise<void> {
    world.writeConfig(pools.map(pool), { max_runners: 12, cluster: { member_offline_timeout: "5s", ...cluster } });
    for (const p of pools) world.pushToken({ repo: p.repo ?? `acme/${p.name}` });
    if (daemon) daemon.reload();
    else daemon = await startDaemon({ configPath: world.configPath, logger: createLogger(process.env.RUNNERD_TEST_LOG_LEVEL ?? "warn") });
  }

  /** runnerd's instances by member, as LXD places them (location), for one pool, whatever their state. */
  async function placed(poolName: string): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const i of await world.lxd.listInstances({ configKey: "user.runnerd.controller", value: world.controllerId })) {
      if (i.config["user.runnerd.pool"] !== poolName) continue;
      (out[i.location] ??= []).push(i.name);
    }
    return out;
  }

  const listening = (repo: string) => world.emulator.runners().filter((r) => "repo" in r.scope && r.scope.repo === repo && r.listeningAt !== null);

  it("spreads a pool's runners over the three members and runs jobs on them", async () => {
    await configure([{ name: "spread", repo: "acme/spread", floor: 6, ceiling: 6, placement: { spread: true } }]);
    await waitFor("6 runners listening", () => listening("acme/spread").length === 6 || undefined, 180_000);
    const where = await placed("spread");
    expect(Object.keys(where).sort()).toEqual(["m1", "m2", "m3"]);
    for (const names of Object.values(where)) expect(names).toHaveLength(2);
    const jobs = [1, 2, 3].map((n) => world.emulator.enqueueJob({ scope: { repo: "acme/spread" }, labels: ["self-hosted"], name: `job-${n}`, script: "echo hi" }));
    const done = await world.emulator.waitForJobs(jobs.map((j) => j.id), 120_000);
    for (const j of done) expect(j?.conclusion).toBe("success");
    const status = daemon?.reconciler.status();
    expect(status?.members?.map((m) => [m.name, m.state])).toEqual([["m1", "online"], ["m2", "online"], ["m3", "online"]]);
  });

  it("shows each member in status and checks each in doctor", async () => {
    await ensureBuilt();
    const status = await runCli(["--config", world.configPath, "status"]);
    expect(status.stdout).toMatch(/MEMBER\s+STATE\s+RUNNERS/);
    for (const m of ["m1", "m2", "m3"]) expect(status.stdout).toMatch(new RegExp(`^${m}\\s+online\\s+2\\b`, "m"));
    // The status page's data (GET /api/v1/status) carries the members too.
    const page = (await (await fetch(`${daemon?.http.url}/api/v1/status`)).json()) as { members?: { name: string; state: string; runners: number }[] };
    expect(page.members?.map((m) => [m.name, m.state, m.runners])).toEqual([["m1", "online", 2], ["m2", "online", 2], ["m3", "online", 2]]);
    const doctor = await runCli(["--config", world.configPath, "doctor", "--no-launch"], { timeoutMs: 120_000 });
    expect(doctor.stdout).toContain("cluster: 3 members, 3 online");
    for (const m of ["m1", "m2", "m3"]) expect(doctor.stdout).toMatch(new RegExp(`ok +member ${m}: online, storage pool \\S+ btrfs`));
  });

  it("keeps a pool pinned to one member there", async () => {
    await configure([
      { name: "spread", repo: "acme/spread", floor: 0, ceiling: 6, placement: { spread: true } },
      { name: "pinned", repo: "acme/pinned", floor: 3, ceiling: 3, placement: { target: "m2" } },
    ]);
    await waitFor("3 pinned runners listening", () => listening("acme/pinned").length === 3 || undefined, 120_000);
    expect(Object.keys(await placed("pinned"))).toEqual(["m2"]);
  });

  it("writes off the runners of a member whose daemon died, refills the pool on the others, runs every job once, and collects the stale ones when it is back", async () => {
    await configure([
      { name: "spread", repo: "acme/spread", floor: 0, ceiling: 6, placement: { spread: true } },
      { name: "pinned", repo: "acme/pinned", floor: 0, ceiling: 3, placement: { target: "m2" } },
      { name: "failover", repo: "acme/failover", floor: 3, ceiling: 6, placement: { spread: true } },
    ]);
    await waitFor("one failover runner listening per member", async () => {
      const where = await placed("failover");
      // No spawn under way: a start answered after the kill would be a different story (a lost spawn).
      return (["m1", "m2", "m3"].every((m) => where[m]?.length === 1) && listening("acme/failover").length === 3 && daemon?.reconciler.inFlightNames().length === 0) || undefined;
    }, 120_000);
    await waitFor("the other pools empty", async () => (Object.keys(await placed("spread")).length === 0 && Object.keys(await placed("pinned")).length === 0) || undefined, 60_000);
    const onM3 = (await placed("failover")).m3 ?? [];
    const killedAt = Date.now();
    await killMember("m3");
    // Replaced on m1 and m2 once m3 is offline (threshold 11 s) and the write-off timeout (5 s) passed.
    await waitFor("3 failover runners listening on m1 and m2", () => listening("acme/failover").filter((r) => !onM3.includes(r.name)).length >= 3 || undefined, 90_000, 250);
    const handledMs = Date.now() - killedAt;
    const where = await placed("failover");
    expect((where.m1?.length ?? 0) + (where.m2?.length ?? 0)).toBeGreaterThanOrEqual(3);
    expect(daemon?.reconciler.status()?.members?.find((m) => m.name === "m3")).toMatchObject({ state: "offline", lost: onM3.length });
    const store = openStore(world.stateDir);
    const lost = store.listRunners({ limit: 100 }).filter((r) => onM3.includes(r.name));
    store.close();
    expect(lost.map((r) => r.outcome)).toEqual(onM3.map(() => "member-lost"));

    const jobs = [1, 2, 3].map((n) => world.emulator.enqueueJob({ scope: { repo: "acme/failover" }, labels: ["self-hosted"], name: `after-kill-${n}`, script: "echo hi" }));
    const done = await world.emulator.waitForJobs(jobs.map((j) => j.id), 120_000);
    for (const j of done) expect(j?.conclusion).toBe("success");
    // Each job ran once, on a runner of its own. Killing a member's daemon leaves its containers
    // (and their proxy) running: a written-off push-mode runner there may still take one, as a
    // real one would; runnerd cannot delete its registration without a GitHub credential.
    expect(new Set(done.map((j) => j?.runnerName)).size).toBe(done.length);
    for (const j of done) expect(world.emulator.runnerHistory().filter((r) => r.name === j?.runnerName)).toHaveLength(1);

    await restartMember("m3");
    await waitFor("the stale m3 runners collected", async () => {
      const names = Object.values(await placed("failover")).flat();
      return onM3.every((n) => !names.includes(n)) || undefined;
    }, 120_000, 1000);
    process.stderr.write(`member failure (${clusterBackend()}): replacements listening ${handledMs} ms after the kill\n`);
  });

  it("places nothing on an evacuated member, collects its runners, and refills the pool elsewhere", async () => {
    await waitFor("every member online for runnerd", () => daemon?.reconciler.status()?.members?.every((m) => m.state === "online") || undefined, 60_000);
    await waitFor("a failover runner on m1", async () => ((await placed("failover")).m1?.length ?? 0) > 0 || undefined, 120_000);
    await evacuate("m1", "m2");
    try {
      // Evacuation stops m1's runners where they are (cluster.evacuate=stop); runnerd collects them.
      await waitFor("3 failover runners listening, none left on m1", async () => {
        const where = await placed("failover");
        return (!where.m1 && (where.m2?.length ?? 0) + (where.m3?.length ?? 0) >= 3 && listening("acme/failover").length >= 3) || undefined;
      }, 120_000, 500);
      expect(daemon?.reconciler.status()?.members?.find((m) => m.name === "m1")?.state).toBe("evacuated");
    } finally {
      await restore("m1", "m2");
    }
    await waitFor("m1 online again for runnerd", () => daemon?.reconciler.status()?.members?.find((m) => m.name === "m1")?.state === "online" || undefined, 60_000);
  });

  it("rolls a pool to a new image on every member: idle runners are replaced from the image the alias points at now", async () => {
    const alias = `rt-roll-${world.controllerId}`;
    const base = await world.lxd.getImageAlias(testImage);
    if (!base) throw new Error(`no ${testImage} image in the cluster`);
    await world.lxd.pointImageAlias(alias, base.target);
    const builder = `rt-rollsrc-${world.controllerId}`;
    let next: string | undefined;
    try {
      await configure([
        { name: "failover", repo: "acme/failover", floor: 0, ceiling: 6, placement: { spread: true } },
        { name: "roll", repo: "acme/roll", floor: 3, ceiling: 3, image: alias, placement: { spread: true } },
      ]);
      await waitFor("a roll runner listening on each member", async () => {
        const where = await placed("roll");
        return (["m1", "m2", "m3"].every((m) => where[m]?.length === 1) && listening("acme/roll").length === 3) || undefined;
      }, 120_000);
      const before = new Set(Object.values(await placed("roll")).flat());
      // A new image: the same busybox, published from a container on m2 (another fingerprint).
      await world.lxd.createInstance({ name: builder, source: { fingerprint: base.target }, config: { "user.runnerd-test": "roll" }, target: "m2" });
      next = (await world.lxd.publishInstance(builder, { alias, properties: { description: "rolled" } })).fingerprint;
      expect(next).not.toBe(base.target);
      await waitFor("3 roll runners of the new image listening, one per member", async () => {
        const now = await world.lxd.listInstances({ configKey: "user.runnerd.controller", value: world.controllerId });
        const roll = now.filter((i) => i.config["user.runnerd.pool"] === "roll" && !before.has(i.name));
        const members = new Set(roll.filter((i) => i.config["volatile.base_image"] === next).map((i) => i.location));
        return (members.size === 3 && now.every((i) => !before.has(i.name)) && listening("acme/roll").filter((r) => !before.has(r.name)).length === 3) || undefined;
      }, 180_000, 1000);
    } finally {
      await world.lxd.deleteInstance(builder, { force: true }).catch(() => undefined);
      await configure([{ name: "roll", repo: "acme/roll", floor: 0, ceiling: 3, image: alias }]);
      await waitFor("the roll pool empty", async () => Object.keys(await placed("roll")).length === 0 || undefined, 120_000);
      await world.lxd.deleteImageAlias(alias).catch(() => undefined);
      if (next) await world.lxd.deleteImage(next).catch(() => undefined);
    }
  });
});
