import { describe, expect, it } from "vitest";
import { PoolBackoff } from "./backoff.js";
import { DeprecatedPools } from "./deprecation.js";
import type { InFlight } from "./observe.js";
import { SnapshotObserver } from "./snapshot.js";
import { FakeLxd, FakeTokens, poolRuntime, reconcilerSettings, silentLogger } from "./test-support.js";

const now = 1_800_000_000_000;

function world() {
  const lxd = new FakeLxd();
  const tokens = new FakeTokens();
  tokens.set("repo:acme/web", now + 3_600_000);
  const backoff = new PoolBackoff({ now: () => now, random: () => 0.5 });
  const inFlight = new Map<string, InFlight>([["rd-web-new", { kind: "spawn", pool: "web", startedAt: now - 100 }]]);
  const lastSpawnAt = new Map([["web", 3]]);
  const demand = new Map([["web", 2]]);
  const observer = new SnapshotObserver({ lxd, tokens, demand: () => demand, inFlight: () => inFlight, lastSpawnAt: () => lastSpawnAt, backoff });
  const settings = reconcilerSettings([poolRuntime("web"), { ...poolRuntime("api"), image: "0123456789abcdef" }]);
  return { lxd, backoff, observer, settings, lastSpawnAt };
}

describe("SnapshotObserver.observe", () => {
  it("returns the whole snapshot the planner needs", async () => {
    const w = world();
    w.lxd.aliases.set("runnerd/default", "f00d");
    w.lxd.addRunner("rd-web-a", "web", { createdAt: now - 60_000, agent: { state: "idle", at: now - 30_000 } });
    w.backoff.fail("api", "image not found", true);
    const { snapshot, transitions, recovered } = await w.observer.observe(w.settings, now, true, silentLogger);
    expect(snapshot).toEqual({
      pools: w.settings.pools.map((p) => p.spec),
      runners: [
        { name: "rd-web-a", pool: "web", phase: "idle", createdAt: now - 60_000, phaseSince: now - 30_000, scope: "repo:acme/web" },
        { name: "rd-web-new", pool: "web", phase: "creating", createdAt: now - 100 },
      ],
      tokenExpiry: new Map([["repo:acme/web", now + 3_600_000]]),
      backoffUntil: new Map([["api", now + 45_000]]),
      shuttingDown: true,
      poolImages: new Map([["web", "f00d"]]), // a fingerprint pool has no alias to follow
      demand: new Map([["web", 2]]),
      lastSpawnAt: new Map([["web", 3]]),
    });
    expect(transitions).toEqual([{ runner: "rd-web-a", pool: "web", status: { state: "idle", since: now - 30_000 } }]);
    expect(recovered).toEqual([]);
    // A copy: spawns dispatched after the plan do not change the snapshot it was made from.
    w.lastSpawnAt.set("web", 4);
    expect(snapshot.lastSpawnAt?.get("web")).toBe(3);
  });

  it("re-reads an image alias only every few seconds, and keeps the last answer meanwhile", async () => {
    const w = world();
    w.lxd.aliases.set("runnerd/default", "f00d");
    await w.observer.observe(w.settings, now, false, silentLogger);
    w.lxd.aliases.set("runnerd/default", "beef");
    expect((await w.observer.observe(w.settings, now + 4999, false, silentLogger)).snapshot.poolImages?.get("web")).toBe("f00d");
    expect((await w.observer.observe(w.settings, now + 5000, false, silentLogger)).snapshot.poolImages?.get("web")).toBe("beef");
    expect(w.lxd.count("alias")).toBe(2);
  });

  it("reads an image alias once a pass, however many pools use it", async () => {
    const w = world();
    w.lxd.aliases.set("runnerd/default", "f00d");
    const settings = reconcilerSettings([poolRuntime("web"), poolRuntime("api"), poolRuntime("docs")]);
    const { snapshot } = await w.observer.observe(settings, now, false, silentLogger);
    expect(snapshot.poolImages).toEqual(new Map([["web", "f00d"], ["api", "f00d"], ["docs", "f00d"]]));
    expect(w.lxd.count("alias")).toBe(1);
  });

  it("ends the backoff of a pool whose new runner has listened for a while before it builds the snapshot", async () => {
    const w = world();
    w.backoff.fail("web", "create failed", false);
    w.lxd.addRunner("rd-web-b", "web", { createdAt: now + 1000, agent: { state: "idle", at: now + 4000 } });
    // Listening for a second proves nothing yet (it may be refused or update itself): a pass is due when it would.
    const early = await w.observer.observe(w.settings, now + 5000, false, silentLogger);
    expect(early.recovered).toEqual([]);
    expect(early.recoveryDueAt).toBe(now + 4000 + 90_000);
    expect(early.snapshot.backoffUntil.size).toBe(1);
    const { snapshot, recovered } = await w.observer.observe(w.settings, now + 4000 + 90_000, false, silentLogger);
    expect(recovered).toEqual(["web"]);
    expect(snapshot.backoffUntil.size).toBe(0);
  });

  it("blocks a pool refused for its runner version until its image alias moves", async () => {
    const w = world();
    w.lxd.aliases.set("runnerd/default", "a".repeat(64));
    const deprecated = new DeprecatedPools();
    const observer = new SnapshotObserver({ lxd: w.lxd, tokens: new FakeTokens(), inFlight: () => new Map(), lastSpawnAt: () => new Map(), backoff: w.backoff, deprecated });
    deprecated.note("web", { fingerprint: "a".repeat(64), runner: "rd-web-1", at: now, message: "refused" });
    const blocked = await observer.observe(w.settings, now, false, silentLogger);
    expect(blocked.snapshot.deprecated).toEqual(new Set(["web"]));
    expect(blocked.undeprecated).toEqual([]);
    w.lxd.aliases.set("runnerd/default", "b".repeat(64));
    const moved = await observer.observe(w.settings, now + 10_000, false, silentLogger);
    expect(moved.undeprecated).toEqual(["web"]);
    expect(moved.snapshot.deprecated).toBeUndefined();
  });
});
