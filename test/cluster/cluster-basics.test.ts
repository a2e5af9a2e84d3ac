// What a cluster of three members looks like through runnerd's own LXD client (issue 14 item 7),
// against the test cluster of scripts/setup-cluster.sh (RUNNERD_BACKEND=lxd|incus).
//
// Measured on this host (Debian 12, LXD 5.0.2 and Incus 6.0.4, cluster.offline_threshold 11 s):
// - Events: a member's /1.0/events stream carries the lifecycle events of EVERY member's instances,
//   each once, with `location` naming the member where it happened (LXD 5.0 and Incus 6.0 alike).
//   One event connection, to any member, is enough for runnerd; it need not connect to each.
// - A member whose daemon was SIGKILLed shows as Offline in GET /1.0/cluster/members of m1 after
//   4-9 s on Incus and 6-9 s on LXD (within the threshold: it counts from the last heartbeat).
//   Each member has its own view: on Incus m2 saw it at the same time as m1, on LXD 5.0 m2 lagged
//   by 8-9 s (14-18 s after the kill). 10 is refused by both servers ("Value must be greater than
//   '10'"), so the setup sets 11; the default is 20.
// - Listing instances (recursion=1) through a live member still succeeds: the offline member's
//   instances are listed with status "Error" (status_code 112) and their `location`, both before
//   and after the member is declared Offline. Reading one of them (GET /1.0/instances/NAME, and
//   /state) fails with 500: LXD 5.0 "Missing event connection with target cluster member",
//   Incus 6.0 "Server isn't ready yet".
// - Restarted, the member is Online again within seconds, and its containers (which ran on while
//   the daemon was dead) are Running again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LxdError } from "../../src/errors.js";
import { createLxdClient, instanceNameFromLifecycle, type LifecycleEvent, type LxdClient, type EventSubscription } from "../../src/lxd/index.js";
import { settle } from "../../src/lxd/operations.js";
import { clusterBackend, clusterOrSkip, killMember, memberNames, memberSocket, restartMember, type MemberName } from "../support/cluster-harness.js";
import { testImage, waitFor } from "../support/lxd-harness.js";

const gate = await clusterOrSkip();
const runId = `${process.pid.toString(36)}${Date.now().toString(36)}`;

describe.skipIf(gate.skip)(`a 3-member ${clusterBackend()} cluster through runnerd's LXD client`, () => {
  const clients = {} as Record<MemberName, LxdClient>;
  const created = new Set<string>();
  const facts: Record<string, unknown> = { backend: clusterBackend() };
  let m3Killed = false;

  beforeAll(() => {
    for (const name of memberNames) clients[name] = createLxdClient({ socketPath: memberSocket(name), timeoutMs: 30_000 });
  });

  afterAll(async () => {
    if (m3Killed) await restartMember("m3").catch((err: unknown) => console.warn(`could not restart m3: ${(err as Error).message}`));
    for (const name of created) {
      await clients.m1.deleteInstance(name, { force: true }).catch((err: unknown) => console.warn(`could not delete ${name}: ${(err as Error).message}`));
    }
    await Promise.all(memberNames.map((name) => clients[name]?.close()));
    console.log(`[cluster-basics] ${JSON.stringify(facts)}`);
  });

  /** Creates (and starts) a busybox container through `via`, placed on `target` when given. */
  async function launch(via: MemberName, name: string, target?: MemberName): Promise<void> {
    const t = clients[via].transport;
    created.add(name);
    // LXD 5.0.2 lacks `instance_create_start` (it ignores `start` and leaves the instance stopped).
    const startInCreate = await clients[via].hasExtension("instance_create_start");
    const body = { name, type: "container", source: { type: "image", alias: testImage }, profiles: ["default"], start: startInCreate };
    const res = await t.request("POST", "/1.0/instances", { what: `create instance ${name}`, body, ...(target ? { query: { target } } : {}) });
    await settle(t, res, { what: `create instance ${name}`, timeoutMs: 120_000 });
    if (!startInCreate) await clients[via].startInstance(name);
  }

  async function get(via: MemberName, path: string, query?: Record<string, string | number>): Promise<unknown> {
    const res = await clients[via].transport.request("GET", path, { what: `GET ${path} on ${via}`, ...(query ? { query } : {}) });
    return res.kind === "sync" ? res.metadata : undefined;
  }

  async function memberStatus(via: MemberName): Promise<Record<string, string>> {
    const list = (await get(via, "/1.0/cluster/members", { recursion: 1 })) as { server_name: string; status: string }[];
    return Object.fromEntries(list.map((m) => [m.server_name, m.status]));
  }

  it("each member reports itself clustered, under its own name", async () => {
    for (const name of memberNames) {
      const info = (await get(name, "/1.0")) as { environment: { server_clustered: boolean; server_name: string } };
      expect(info.environment.server_clustered).toBe(true);
      expect(info.environment.server_name).toBe(name);
    }
  });

  it("lists three Online members", async () => {
    for (const via of memberNames) expect(await memberStatus(via)).toEqual({ m1: "Online", m2: "Online", m3: "Online" });
  });

  it("places an instance created through m1 with target=m2 on m2, and lists every member's instances from any member", async () => {
    const onM2 = `rc-basic-${runId}-a`;
    const onM3 = `rc-basic-${runId}-b`;
    const started = performance.now();
    await launch("m1", onM2, "m2");
    facts.createWithTargetMs = Math.round(performance.now() - started);
    expect((await clients.m1.getInstance(onM2))?.location).toBe("m2");
    // Created through m3's own socket without a target: the scheduler picks a member.
    await launch("m3", onM3);
    const whereB = (await clients.m1.getInstance(onM3))?.location;
    facts.untargetedCreateThroughM3LandedOn = whereB;
    for (const via of memberNames) {
      const listed = new Map((await clients[via].listInstances()).map((i) => [i.name, i]));
      expect(listed.get(onM2)).toMatchObject({ location: "m2", status: "Running" });
      expect(listed.get(onM3)).toMatchObject({ location: whereB, status: "Running" });
    }
  });

  it("carries the lifecycle events of every member's instances on each member's stream", async () => {
    const name = `rc-basic-${runId}-ev`;
    const seen: Record<MemberName, LifecycleEvent[]> = { m1: [], m2: [], m3: [] };
    const subs: EventSubscription[] = memberNames.map((via) =>
      clients[via].subscribeEvents({
        types: ["lifecycle"],
        onEvent: (e) => {
          if (e.type === "lifecycle" && instanceNameFromLifecycle(e) === name) seen[via].push(e);
        },
      }),
    );
    try {
      await Promise.all(subs.map((s) => s.ready));
      // Everything through m2's own socket, so that nothing about the instance passes through m1.
      await launch("m2", name, "m2");
      await clients.m2.stopInstance(name, { force: true });
      const actions = (via: MemberName) => seen[via].map((e) => e.metadata.action);
      for (const via of memberNames) {
        await waitFor(`instance-stopped of ${name} on ${via}'s stream`, () => actions(via).includes("instance-stopped"), 15_000);
      }
      facts.eventsOfAnM2InstanceSeenOn = Object.fromEntries(memberNames.map((via) => [via, seen[via].map((e) => `${e.metadata.action}@${e.location}`)]));
      for (const via of memberNames) {
        expect(actions(via)).toEqual(["instance-created", "instance-started", "instance-stopped"]);
        expect(seen[via].every((e) => e.location === "m2")).toBe(true);
      }
    } finally {
      for (const s of subs) s.close();
    }
  });

  it("shows a member whose daemon died as Offline, its instances as Error, and brings it back", async () => {
    const name = `rc-basic-${runId}-off`;
    await launch("m1", name, "m3");
    await killMember("m3");
    m3Killed = true;
    const killedAt = performance.now();

    // Before the other members notice: listing works and already marks the instance.
    const early = (await clients.m1.listInstances()).find((i) => i.name === name);
    facts.listingRightAfterKill = early && { status: early.status, statusCode: early.statusCode, location: early.location };

    await waitFor("m3 Offline as seen from m1", async () => (await memberStatus("m1")).m3 === "Offline", 60_000, 250);
    const offlineAfterMs = Math.round(performance.now() - killedAt);
    facts.offlineAfterMs = offlineAfterMs;
    const cfg = (await get("m1", "/1.0")) as { config: Record<string, string> };
    facts.offlineThreshold = cfg.config["cluster.offline_threshold"];
    expect(offlineAfterMs).toBeLessThan((Number(cfg.config["cluster.offline_threshold"] ?? 20) + 10) * 1000);
    // Each member has its own view, refreshed by the leader's heartbeats: m2 may lag m1 by seconds.
    await waitFor("m3 Offline as seen from m2", async () => (await memberStatus("m2")).m3 === "Offline", 30_000, 250);
    facts.offlineSeenFromM2AfterMs = Math.round(performance.now() - killedAt);
    expect(await memberStatus("m2")).toEqual({ m1: "Online", m2: "Online", m3: "Offline" });

    const listed = (await clients.m1.listInstances()).find((i) => i.name === name);
    facts.listingWithM3Offline = listed && { status: listed.status, statusCode: listed.statusCode, location: listed.location };
    expect(listed).toMatchObject({ status: "Error", statusCode: 112, location: "m3" });
    // The other members' instances are listed as before.
    expect((await clients.m1.listInstances()).find((i) => i.name === `rc-basic-${runId}-a`)).toMatchObject({ status: "Running", location: "m2" });

    const readOne = await clients.m1.getInstance(name).then(
      () => "answered",
      (err: unknown) => err,
    );
    expect(readOne).toBeInstanceOf(LxdError);
    facts.getInstanceOnOfflineMember = `${(readOne as LxdError).status}: ${(readOne as LxdError).message}`;

    const restartStarted = performance.now();
    await restartMember("m3");
    m3Killed = false;
    facts.restartToOnlineMs = Math.round(performance.now() - restartStarted);
    expect(await memberStatus("m1")).toEqual({ m1: "Online", m2: "Online", m3: "Online" });
    // Its container ran on while the daemon was dead; the restarted daemon finds it running.
    await waitFor(`${name} Running again`, async () => (await clients.m1.getInstance(name))?.status === "Running", 30_000);
  });
});
