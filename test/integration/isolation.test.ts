// A clean machine for every job: what one job leaves behind (root-owned files in its workspace,
// /tmp, the runner's home and /opt, background processes started as root and as the runner user)
// is not there for the next job of the same pool, because that job runs in another instance.
import { describe, expect, it } from "vitest";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";

const lxd = await lxdOrSkip();

const leakedFiles = ["$GITHUB_WORKSPACE/root-owned-ws", "/tmp/root-owned-tmp", "/tmp/user-owned-tmp", "/home/runner/root-owned-home", "/opt/leak/root-owned-opt", "/opt/leak"];

// Job 1 leaves its mess, and proves it made it (so that job 2's "absent" is not vacuous).
const dirtyJob = `set -e
echo "job1 uid=$(id -u) on $RUNNER_NAME in $GITHUB_WORKSPACE"
sudo touch "$GITHUB_WORKSPACE/root-owned-ws"
sudo sh -c 'echo root > /tmp/root-owned-tmp; echo root > /home/runner/root-owned-home; mkdir -p /opt/leak; echo root > /opt/leak/root-owned-opt'
echo user > /tmp/user-owned-tmp
sudo sh -c 'sleep 3600 >/dev/null 2>&1 &'
sleep 3601 >/dev/null 2>&1 &
for f in ${leakedFiles.join(" ")}; do
  [ -e "$f" ] && echo "made: $f owner=$(stat -c %u "$f")"
done
ps -o pid,user,args | grep 'sleep 360[01]' | sed 's/^/running: /'
echo job1-done
`;

// Job 2 fails unless none of it is there.
const checkJob = `found=0
echo "job2 uid=$(id -u) on $RUNNER_NAME in $GITHUB_WORKSPACE"
for f in ${leakedFiles.join(" ")}; do
  if [ -e "$f" ]; then echo "LEAK: $f exists"; found=1; else echo "clean: $f absent"; fi
done
procs=$(ps -o pid,user,args)
echo "process table has $(printf '%s\\n' "$procs" | wc -l) lines"
if printf '%s\\n' "$procs" | grep 'sleep 360[01]'; then echo "LEAK: sleep process running"; found=1; else echo "clean: no sleep 3600/3601 process"; fi
echo "checks done: found=$found"
exit $found
`;

describe.skipIf(lxd.skip)("isolation between jobs on a real LXD", () => {
  const t = useDaemonWorld();

  it("a job's root-owned files and background processes do not survive into the next job", async () => {
    t.world.writeConfig([{ name: "iso", repo: "acme/iso", floor: 1 }]);
    t.world.pushToken({ repo: "acme/iso" });
    const daemon = await t.startDaemon();

    await waitFor("one listening runner", () => t.world.emulator.runners().some((r) => r.listeningAt !== null), 120_000);
    const job1 = t.world.emulator.enqueueJob({ scope: { repo: "acme/iso" }, labels: ["self-hosted"], name: "dirty", script: dirtyJob });
    const [done1] = await t.world.emulator.waitForJobs([job1.id], 120_000);
    expect(done1?.conclusion, done1?.log).toBe("success");
    // Job 1 really left everything behind: root-owned files and both sleeps.
    expect(done1?.log).toContain("job1 uid=1001");
    for (const f of ["root-owned-ws owner=0", "/tmp/root-owned-tmp owner=0", "/tmp/user-owned-tmp owner=1001", "/home/runner/root-owned-home owner=0", "/opt/leak/root-owned-opt owner=0"]) {
      expect(done1?.log).toContain(f);
    }
    expect(done1?.log).toMatch(/running: .*root.*sleep 3600/);
    expect(done1?.log).toMatch(/running: .*runner.*sleep 3601/);
    expect(done1?.log).toContain("job1-done");

    // Job 2 is queued only after job 1 finished, on the same pool.
    const job2 = t.world.emulator.enqueueJob({ scope: { repo: "acme/iso" }, labels: ["self-hosted"], name: "check", script: checkJob });
    const [done2] = await t.world.emulator.waitForJobs([job2.id], 120_000);
    expect(done2?.log).toContain("job2 uid=1001");
    expect(done2?.log).not.toContain("LEAK");
    for (const f of ["root-owned-ws absent", "/tmp/root-owned-tmp absent", "/tmp/user-owned-tmp absent", "/home/runner/root-owned-home absent", "/opt/leak absent"]) {
      expect(done2?.log).toContain(f);
    }
    expect(done2?.log).toContain("clean: no sleep 3600/3601 process");
    expect(done2?.log).toContain("checks done: found=0");
    expect(done2?.conclusion, done2?.log).toBe("success");
    // The same workspace path, but a different runner (and so a different instance).
    expect(done2?.runnerName).toBeTruthy();
    expect(done2?.runnerName).not.toBe(done1?.runnerName);

    // Both runners are gone from LXD and from GitHub, each ran one job, and the floor is back.
    const settled = await waitFor("both job runners collected and one idle runner", async () => {
      const instances = await t.world.instances();
      const names = instances.map((i) => i.name);
      const listening = t.world.emulator.runners().filter((r) => r.listeningAt !== null && r.jobIds.length === 0);
      return !names.includes(done1?.runnerName ?? "") && !names.includes(done2?.runnerName ?? "") && instances.length === 1 && instances[0]?.status === "Running" && listening.length === 1 ? instances : undefined;
    }, 60_000);
    expect(settled).toHaveLength(1);
    const history = t.world.emulator.runnerHistory();
    for (const runner of history) expect(runner.jobIds.length).toBeLessThanOrEqual(1);
    for (const name of [done1?.runnerName, done2?.runnerName]) {
      expect(history.find((r) => r.name === name)?.deletedAt).not.toBeNull();
      const record = daemon.store.getRunner(name ?? "");
      expect(record?.outcome).toBe("succeeded");
      expect(record?.jobSeen).toBe(true);
      expect(record?.deletedAt).not.toBeNull();
    }
    expect(t.world.emulator.violations).toEqual([]);
  });
});
