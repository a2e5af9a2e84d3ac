// Push mode: runners are only spawned while a registration token with enough validity left is
// on hand. Without one the pool waits (said once, not on every pass), a pushed token resumes it,
// and one about to expire holds it back again. The CLI's `token set` stores a token, nudges the
// daemon and never shows the token again.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Daemon } from "../../src/daemon/daemon.js";
import { liveStatus } from "../../src/daemon/live-status.js";
import { connectLxd } from "../../src/lxd/connect.js";
import { readStatusFile, statusFilePath } from "../../src/daemon/state-files.js";
import { openStore } from "../../src/store/index.js";
import { createTestWorld, ensureBuilt, ensureTestImage, lxdOrSkip, runCli, startChildDaemon, waitFor, type ChildDaemon, type TestWorld } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(lxd.skip)("token gating on a real LXD", () => {
  const t = useDaemonWorld();

  async function live(d: Daemon) {
    const conn = await connectLxd(d.config().lxd);
    try {
      const status = await liveStatus(d.config(), conn, d.store);
      return status.pools.find((p) => p.name === "gate");
    } finally {
      await conn.client.close();
    }
  }
  const waitingEvents = (d: Daemon) => d.store.listEvents({ limit: 1000, pool: "gate" }).filter((e) => e.kind === "waiting-for-token");

  it("spawns nothing without a token, resumes on a pushed token, and holds back with a token about to expire", async () => {
    const repo = "acme/gate";
    t.world.writeConfig([{ name: "gate", repo, floor: 2 }], { token_min_validity: "5m" });
    const daemon = await t.startDaemon();
    const d = daemon;

    // (a) No token: several resync intervals (2 s) pass without a spawn.
    const firstPass = await waitFor("the first status.json", () => readStatusFile(t.world.stateDir), 30_000);
    await sleep(7000);
    const later = readStatusFile(t.world.stateDir);
    expect(later?.at ?? 0).toBeGreaterThanOrEqual(firstPass.at + 4000); // passes kept running
    expect(await t.world.instances()).toEqual([]);
    expect(d.store.listRunners()).toEqual([]);
    expect(t.world.emulator.runnerHistory()).toEqual([]);
    expect(later?.pools.find((p) => p.name === "gate")).toMatchObject({ blocked: "token-missing", idle: 0, starting: 0 });
    expect(await live(d)).toMatchObject({ blocked: "token-missing", idle: 0, starting: 0 });
    const missing = waitingEvents(d);
    expect(missing).toHaveLength(1);
    expect(missing[0]?.message).toContain("runnerd token set repo:acme/gate");

    // (b) A token is pushed and a pass requested (what `token set` does through SIGUSR1).
    t.world.pushToken({ repo });
    d.reconciler.requestPass("test: token pushed");
    await waitFor("2 listening runners", () => t.world.emulator.runners().filter((r) => r.listeningAt !== null).length === 2 || undefined, 120_000);
    const running = await waitFor("2 running instances", async () => {
      const instances = await t.world.instances();
      return instances.length === 2 && instances.every((i) => i.status === "Running") ? instances : undefined;
    }, 30_000);
    const afterPush = await waitFor("status.json without a blocker", () => {
      const pool = readStatusFile(t.world.stateDir)?.pools.find((p) => p.name === "gate");
      return pool?.idle === 2 ? pool : undefined;
    }, 30_000);
    expect(afterPush.blocked).toBeUndefined();
    expect(afterPush.tokenExpiresAt).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect(d.store.listEvents({ limit: 1000, pool: "gate" }).filter((e) => e.kind === "token-fresh")).toHaveLength(1);
    expect(waitingEvents(d)).toHaveLength(1);

    // (c) A token that expires within token_min_validity (5 m): a runner that is used up is not replaced.
    t.world.pushToken({ repo }, 120);
    const job = t.world.emulator.enqueueJob({ scope: { repo }, labels: ["self-hosted"], name: "use-one", script: "echo used" });
    const [done] = await t.world.emulator.waitForJobs([job.id], 120_000);
    expect(done?.conclusion).toBe("success");
    await waitFor("the used runner collected", async () => !(await t.world.instances()).some((i) => i.name === done?.runnerName) || undefined, 60_000);
    const recordsBefore = d.store.listRunners().length;
    await sleep(7000);
    const instances = await t.world.instances();
    expect(instances).toHaveLength(1);
    expect(running.map((i) => i.name)).toContain(instances[0]?.name);
    expect(d.store.listRunners()).toHaveLength(recordsBefore);
    expect(t.world.emulator.runnerHistory()).toHaveLength(2);
    const expiring = readStatusFile(t.world.stateDir)?.pools.find((p) => p.name === "gate");
    expect(expiring).toMatchObject({ blocked: "token-expiring", idle: 1 });
    expect(expiring?.tokenExpiresAt).toBeLessThan(Date.now() + 5 * 60_000);
    expect(await live(d)).toMatchObject({ blocked: "token-expiring", idle: 1 });
    // Said once more, for the new reason; not once per pass.
    const waiting = waitingEvents(d);
    expect(waiting).toHaveLength(2);
    expect(waiting[1]?.message).toContain("expires too soon");
    expect(t.world.emulator.violations).toEqual([]);
  });
});

describe.skipIf(lxd.skip)("runnerd token set / show, end to end", () => {
  let world: TestWorld;
  let child: ChildDaemon | undefined;

  beforeAll(async () => {
    await Promise.all([ensureTestImage(), ensureBuilt()]);
    world = await createTestWorld();
  });

  afterAll(async () => {
    await child?.stop();
    await world?.cleanup();
  });

  it("stores a pushed token, wakes the daemon, never prints the token, and refuses bad input with exit 2", async () => {
    const repo = "acme/cli";
    // A resync so long that only the CLI's nudge (SIGUSR1) can start runners within the test.
    world.writeConfig([{ name: "cli", repo, floor: 1 }], { resync_interval: "10m" });
    const cli = (args: string[], input?: string) => runCli(["--config", world.configPath, ...args], input === undefined ? {} : { input });
    const grant = world.emulator.mintRegistrationToken({ repo });

    const wrongScope = await cli(["token", "set", "repo:acme/other"], JSON.stringify(grant));
    expect(wrongScope.code).toBe(2);
    expect(wrongScope.stderr).toContain("scope repo:acme/other is not used by any pool");
    const badScope = await cli(["token", "set", "not a scope"], JSON.stringify(grant));
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toContain('invalid scope "not a scope"');
    const expired = await cli(["token", "set", `repo:${repo}`], JSON.stringify({ token: grant.token, expires_at: new Date(Date.now() - 60_000).toISOString() }));
    expect(expired.code).toBe(2);
    expect(expired.stderr).toMatch(/token set: field expires_at in the JSON on stdin is not in the future: the token has expired/);
    const garbled = await cli(["token", "set", `repo:${repo}`], '{"token": ');
    expect(garbled.code).toBe(2);
    expect(garbled.stderr).toContain("not valid JSON");
    for (const r of [wrongScope, badScope, expired, garbled]) expect(r.stderr + r.stdout).not.toContain(grant.token);
    const none = await cli(["token", "show", "--json"]);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual([]);

    child = startChildDaemon(world);
    const started = child;
    await waitFor("the daemon's first pass", () => readStatusFile(world.stateDir)?.pid === started.pid || undefined, 60_000);
    expect(readStatusFile(world.stateDir)?.pools[0]).toMatchObject({ name: "cli", blocked: "token-missing" });

    const set = await cli(["token", "set", `repo:${repo}`], `${JSON.stringify(grant)}\n`);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`stored registration token for repo:${repo}; expires ${new Date(grant.expires_at).toISOString()}`);
    expect(set.stdout).toContain("daemon notified");
    expect(set.stdout + set.stderr).not.toContain(grant.token);
    await waitFor("a listening runner", () => world.emulator.runners().some((r) => r.listeningAt !== null) || undefined, 120_000);
    expect(await world.instances()).toHaveLength(1);

    const shown = await cli(["token", "show", "--json"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).not.toContain(grant.token);
    const tokens = JSON.parse(shown.stdout) as { scope: string; expires_at: string; source: string }[];
    expect(tokens).toEqual([expect.objectContaining({ scope: `repo:${repo}`, expires_at: new Date(grant.expires_at).toISOString(), source: "cli" })]);
    const table = await cli(["token", "show"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`repo:${repo}`);
    expect(table.stdout).not.toContain(grant.token);
    // Neither does the daemon's status file.
    expect(readFileSync(statusFilePath(world.stateDir), "utf8")).not.toContain(grant.token);

    const store = openStore(world.stateDir);
    try {
      expect(store.getToken(`repo:${repo}`)?.token).toBe(grant.token);
      expect(store.listEvents({ limit: 100 }).filter((e) => e.kind === "token-set")).toHaveLength(1);
    } finally {
      store.close();
    }
  });
});
