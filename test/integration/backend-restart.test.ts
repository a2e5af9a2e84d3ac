// Issue 13, item 6: LXD (or Incus) killed with SIGKILL and started again while runnerd runs, with
// runners busy, idle and being created. Containers outlive their daemon (each runs under its own
// `lxc monitor`), so the busy runner's job goes on; runnerd's calls fail or lose their answers
// meanwhile, and once the daemon is back runnerd settles every spawn from what it holds (lost-spawns.ts),
// collects what ended, and returns to the floors. Disruptive for anything else using the daemon:
// integration files run one at a time (vitest.config: fileParallelism off).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { backend, backendSocket, lxdOrSkip, repoRoot, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pid of the daemon listening on the backend's socket (not its forkproxy/forkfile helpers). */
async function daemonPid(): Promise<number> {
  const { stdout } = await run("ss", ["-xlpn"]);
  const line = stdout.split("\n").find((l) => l.includes(` ${backendSocket()} `));
  const pid = Number(/pid=(\d+)/.exec(line ?? "")?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`no process listens on ${backendSocket()}:\n${stdout}`);
  return pid;
}

/** Kills the backend's daemon at once; returns a function that starts it again as the set-up does. */
async function killBackend(): Promise<() => Promise<void>> {
  const pid = await daemonPid();
  process.kill(pid, "SIGKILL");
  await waitFor("the backend's daemon gone", () => {
    try {
      process.kill(pid, 0);
      return undefined;
    } catch {
      return true;
    }
  }, 10_000, 50);
  return async () => {
    await run("bash", [join(repoRoot, "scripts", `setup-${backend()}.sh`)], { timeout: 120_000 });
  };
}

describe.skipIf(lxd.skip)(`${backend()} killed and restarted under a running runnerd`, () => {
  const t = useDaemonWorld();

  it("the busy job finishes once, spawns under way are settled from what the backend holds, and the pools return to their floors", async () => {
    const emu = t.world.emulator;
    // steady: one runner busy with a long job, one idle. fresh: floor raised right before the kill, so spawns are under way.
    t.world.writeConfig([
      { name: "steady", repo: "acme/steady", floor: 2, labels: ["steady"] },
      { name: "fresh", repo: "acme/fresh", floor: 0, labels: ["fresh"] },
    ]);
    for (const repo of ["acme/steady", "acme/fresh"]) t.world.pushToken({ repo });
    const daemon = await t.startDaemon();
    const listening = (repo: string) => emu.runners().filter((r) => "repo" in r.scope && r.scope.repo === repo && r.listeningAt !== null);
    await waitFor("2 steady runners listening", () => listening("acme/steady").length === 2 || undefined, 120_000);
    const long = emu.enqueueJob({ scope: { repo: "acme/steady" }, labels: ["self-hosted", "steady"], name: "long", script: "sleep 25; echo survived" });
    await waitFor("the long job running", () => emu.jobs().find((j) => j.id === long.id && j.status === "in_progress"), 60_000);

    t.world.writeConfig([
      { name: "steady", repo: "acme/steady", floor: 2, labels: ["steady"] },
      { name: "fresh", repo: "acme/fresh", floor: 3, labels: ["fresh"] },
    ]);
    expect(daemon.reload()).toMatchObject({ applied: true });
    await waitFor("spawns under way", () => daemon.reconciler.inFlightNames().length > 0 || undefined, 10_000, 20);
    const restart = await killBackend();
    const killedAt = Date.now();
    await sleep(5000); // runnerd's passes and actions meet a dead socket meanwhile
    await restart();
    process.stderr.write(`${backend()} down for ${Date.now() - killedAt} ms\n`);

    // The busy runner's job went on in its container and ends as it would have.
    const [done] = await emu.waitForJobs([long.id], 120_000);
    expect(done?.conclusion).toBe("success");

    // Back to the floors: 2 idle steady runners (one replaces the long job's), 3 fresh ones.
    await waitFor("floors reached again", () => (listening("acme/steady").length >= 2 && listening("acme/fresh").length >= 3) || undefined, 180_000, 500);
    const after = ["steady", "fresh"].map((pool) => emu.enqueueJob({ scope: { repo: `acme/${pool}` }, labels: ["self-hosted", pool], name: `after-${pool}`, script: "echo after" }));
    const later = await emu.waitForJobs(after.map((j) => j.id), 120_000);
    expect(later.map((j) => j.conclusion)).toEqual(["success", "success"]);

    // The history: the long job's runner succeeded; a spawn recorded as failed never ran (its
    // instance is gone and GitHub never saw it listen); no instance is left that runnerd does not know.
    const store = daemon.store;
    // Its collection may still be under way (a stop LXD did not see while down waits its bound).
    await waitFor("the long job's runner collected", () => store.listRunners({ limit: 1000 }).find((r) => r.name === done?.runnerName && r.deletedAt !== null), 60_000);
    const runners = store.listRunners({ limit: 1000 });
    expect(runners.find((r) => r.name === done?.runnerName)).toMatchObject({ outcome: "succeeded", jobName: "long" });
    const instances = new Set((await t.world.instances()).map((i) => i.name));
    for (const r of store.listRunners({ limit: 1000 })) {
      if (r.outcome === "spawn-failed") {
        expect(instances.has(r.name), `${r.name} recorded spawn-failed but its instance is still there`).toBe(false);
        expect(emu.runnerHistory().some((g) => g.name === r.name && g.listeningAt !== null), `${r.name} recorded spawn-failed but listened at GitHub`).toBe(false);
      }
    }
    const known = new Set(daemon.reconciler.status()?.runners.map((r) => r.name) ?? []);
    for (const name of instances) expect(known.has(name), `instance ${name} not known to runnerd`).toBe(true);
    // Every job ran exactly once.
    for (const job of [done, ...later]) expect(emu.runnerHistory().filter((g) => g.name === job?.runnerName)).toHaveLength(1);
    expect(emu.violations).toEqual([]);
    process.stderr.write(`after the restart: ${runners.length} runners recorded, outcomes ${JSON.stringify(countBy(runners.map((r) => r.outcome ?? "live")))}\n`);
  });
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
