// Observing on a cluster: a member that does not answer makes the server list its instances as
// config-less "Error" placeholders (Incus 6.0 and LXD 5.0; test/cluster/cluster-basics.test.ts).
// runnerd's runners there must still count, as last seen, and nothing may be done to them.
import { describe, expect, it } from "vitest";
import { observeRunners, type CachedStatus } from "./observe.js";
import type { InstanceSummary, LxdPort } from "./ports.js";
import { FakeTokens } from "./test-support.js";
import type { ObservedRunner } from "./types.js";

const now = 1_800_000_000_000;

function lxdListing(instances: InstanceSummary[]): { port: LxdPort; filters: unknown[]; reads: string[] } {
  const filters: unknown[] = [];
  const reads: string[] = [];
  const port = {
    listInstances: async (filter: unknown) => {
      filters.push(filter);
      return instances;
    },
    pullFile: async (name: string) => {
      reads.push(name);
      return Buffer.from(`state=idle\nat=${Math.floor(now / 1000) - 5}\n`);
    },
  } as unknown as LxdPort;
  return { port, filters, reads };
}

const ours = (name: string, location: string, status = "Running"): InstanceSummary => ({
  name,
  status,
  location,
  config: { "user.runnerd.controller": "ctl", "user.runnerd.pool": "web", "user.runnerd.created-at": new Date(now - 60_000).toISOString() },
});

describe("observe on a cluster", () => {
  it("keeps a runner whose member stopped answering, as last seen, and reads nothing from it", async () => {
    const known: ObservedRunner = { name: "rd-web-3", pool: "web", phase: "idle", createdAt: now - 60_000, member: "m3", githubRunnerId: 7, connection: "gh", scope: "repo:a/b" };
    const cache = new Map<string, CachedStatus>([["rd-web-3", { state: "idle", since: now - 30_000, readAt: now - 1000 }]]);
    const placeholder: InstanceSummary = { name: "rd-web-3", status: "Error", location: "m3", config: {} };
    const stranger: InstanceSummary = { name: "someone-else", status: "Error", location: "m3", config: {} };
    const lxd = lxdListing([ours("rd-web-1", "m1"), placeholder, stranger]);
    const seen = await observeRunners(lxd.port, new FakeTokens(), "ctl", new Map(), cache, { now, idleRecheckMs: 0 }, { unreachable: new Set(), known: new Map([["rd-web-3", known]]) });
    expect(lxd.filters[0]).toMatchObject({ includeUnreadable: true });
    expect(seen.runners.map((r) => r.name)).toEqual(["rd-web-1", "rd-web-3"]);
    expect(seen.runners[1]).toMatchObject({ phase: "idle", member: "m3", unreachable: true, githubRunnerId: 7 });
    expect(lxd.reads).toEqual(["rd-web-1"]);
    expect(cache.has("rd-web-3")).toBe(true);
  });

  it("reads nothing from a runner on a member known to be offline, even when it is listed with its config", async () => {
    const lxd = lxdListing([ours("rd-web-2", "m2", "Running")]);
    const seen = await observeRunners(lxd.port, new FakeTokens(), "ctl", new Map(), new Map(), { now, idleRecheckMs: 0 }, { unreachable: new Set(["m2"]), known: new Map() });
    expect(seen.runners[0]).toMatchObject({ member: "m2", unreachable: true });
    expect(lxd.reads).toEqual([]);
  });

  it("on a single server, filters on the server and marks no member", async () => {
    const lxd = lxdListing([ours("rd-web-1", "none")]);
    const seen = await observeRunners(lxd.port, new FakeTokens(), "ctl", new Map(), new Map(), { now, idleRecheckMs: 0 });
    expect(lxd.filters[0]).not.toHaveProperty("includeUnreadable");
    expect(seen.runners[0]?.member).toBeUndefined();
  });
});
