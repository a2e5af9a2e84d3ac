// Issue 12, item 5: every runner is contained by default. A pool that sets nothing gets limits
// derived from the host (pools/runner-limits.ts); a pool's own values replace them. A job that
// goes over its memory, processes or disk is stopped inside its own container, while the
// neighbour's job and runnerd carry on.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { backendCli } from "../../src/cli/demo/lxd-host.js";
import { concurrentRunners, defaultLimits } from "../../src/pools/runner-limits.js";
import { useDaemonWorld } from "../support/daemon-world.js";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";

const lxd = await lxdOrSkip();
const run = promisify(execFile);

interface Expanded {
  expanded_config: Record<string, string>;
  expanded_devices: Record<string, Record<string, string>>;
}

// Jobs that each go over one limit of the `hog` pool (128 MiB memory, 100 processes, 96 MiB root
// disk) and say what happened; each carries on after and succeeds.
const hogJobs = {
  memory: `( head -c 300000000 /dev/zero | tail -c 250000000 >/dev/null ); echo "alloc exit=$?"
echo memory-done
`,
  // Nothing can be written (the job's log included) while the disk is full: free it first.
  disk: `dd if=/dev/zero of="$GITHUB_WORKSPACE/fill" bs=1M count=200 2>/dev/null; rc=$?; mib=$(du -m "$GITHUB_WORKSPACE/fill" | cut -f1)
rm -f "$GITHUB_WORKSPACE/fill"; sync
echo "dd exit=$rc"; echo "filled MiB=$mib"
echo disk-done
`,
  // ash gives up a script whose fork fails, so the bomb runs in a subshell and notes each pid;
  // the sleeps are then killed with builtins only, which need no process.
  processes: `( i=0; while [ $i -lt 150 ]; do sleep 30 & echo $! >>"$RUNNER_TEMP/pids"; i=$((i+1)); done ) 2>/dev/null
while read -r p; do kill "$p" 2>/dev/null; done <"$RUNNER_TEMP/pids"
echo "sleeps=$(wc -l <"$RUNNER_TEMP/pids")"
echo processes-done
`,
};

describe.skipIf(lxd.skip)("runner limits on a real LXD", () => {
  const t = useDaemonWorld();

  async function expanded(instance: string): Promise<Expanded> {
    const { stdout } = await run(backendCli(), ["config", "show", "--expanded", instance]);
    const doc = parse(stdout) as { config: Record<string, string>; devices: Record<string, Record<string, string>> };
    return { expanded_config: doc.config, expanded_devices: doc.devices };
  }

  it("gives runners the host-derived limits or their pool's, and contains a job that goes over them", async () => {
    t.world.writeConfig([
      { name: "nbr", repo: "acme/nbr", floor: 1, ceiling: 1 },
      { name: "hog", repo: "acme/hog", floor: 1, ceiling: 1, instance: { memory: "128MiB", processes: 100, disk: "96MiB" } },
    ]);
    t.world.pushToken({ repo: "acme/nbr" });
    t.world.pushToken({ repo: "acme/hog" });
    const daemon = await t.startDaemon();
    const listening = await waitFor("a listening runner in each pool", async () => {
      const instances = await t.world.instances();
      const ready = t.world.emulator.runners().filter((r) => r.listeningAt !== null && r.jobIds.length === 0);
      const of = (pool: string) => instances.find((i) => i.pool === pool && ready.some((r) => r.name === i.name))?.name;
      const nbr = of("nbr");
      const hog = of("hog");
      return nbr && hog ? { nbr, hog } : undefined;
    }, 120_000);

    const host = await t.world.lxd.hostResources();
    const derived = defaultLimits(host, concurrentRunners(daemon.config().max_runners, [1, 1]));
    const nbr = await expanded(listening.nbr);
    expect(nbr.expanded_config).toMatchObject({
      "limits.cpu": String(host.cpus),
      "limits.memory": derived.memory,
      "limits.memory.swap": "false",
      "limits.processes": "10000",
    });
    expect(nbr.expanded_devices.root?.size).toBe("20GiB");
    const hog = await expanded(listening.hog);
    expect(hog.expanded_config).toMatchObject({ "limits.cpu": String(host.cpus), "limits.memory": "128MiB", "limits.processes": "100" });
    expect(hog.expanded_devices.root?.size).toBe("96MiB");

    const started = Date.now();
    const logs: Record<string, string> = {};
    for (const [kind, script] of Object.entries(hogJobs)) {
      const hogJobId = t.world.emulator.enqueueJob({ scope: { repo: "acme/hog" }, labels: ["self-hosted"], name: `hog-${kind}`, script }).id;
      const nbrJobId = t.world.emulator.enqueueJob({ scope: { repo: "acme/nbr" }, labels: ["self-hosted"], name: "nbr", script: "echo nbr-ok" }).id;
      const [hogDone, nbrDone] = await t.world.emulator.waitForJobs([hogJobId, nbrJobId], 90_000);
      logs[kind] = hogDone?.log ?? "";
      process.stderr.write(`runner-limits: hog-${kind} ${hogDone?.conclusion ?? "?"}:\n${logs[kind]}\n`);
      expect(logs[kind], logs[kind]).toContain(`${kind}-done`);
      expect(hogDone?.conclusion, logs[kind]).toBe("success");
      // The neighbour's job, alongside, runs exactly once and succeeds.
      expect(nbrDone?.conclusion, nbrDone?.log).toBe("success");
      expect(nbrDone?.log).toContain("nbr-ok");
    }
    process.stderr.write(`runner-limits: all jobs done ${((Date.now() - started) / 1000).toFixed(1)} s after the first was queued\n`);
    // Memory: the allocating process is OOM-killed (SIGKILL, 128 + 9) inside the container; the job goes on.
    expect(logs.memory).toContain("alloc exit=137");
    // Disk: the root disk's quota stops the write short of 200 MiB.
    expect(logs.disk).not.toContain("dd exit=0");
    expect(Number(/filled MiB=(\d+)/.exec(logs.disk ?? "")?.[1] ?? "999")).toBeLessThan(96);
    // Processes: fewer than 100 in the whole container, whatever the job asks for.
    expect(Number(/sleeps=(\d+)/.exec(logs.processes ?? "")?.[1] ?? "999")).toBeLessThan(100);

    // runnerd kept working: both pools get their next runner.
    await waitFor("a fresh listening runner in each pool", () => {
      const fresh = t.world.emulator.runners().filter((r) => r.listeningAt !== null && r.jobIds.length === 0 && r.name !== listening.nbr && r.name !== listening.hog);
      return fresh.length >= 2 || undefined;
    }, 120_000);
  });
});
