// Issue 12, item 7: hostile jobs on a real LXD. While a neighbour pool runs 10 ordinary jobs, each
// job of an attacker pool tries one attack on the busybox test image (as root through its sudo
// shim where it needs root). Each must be contained: the neighbour's jobs run once each and
// succeed, every attacker runner is collected within its deadline with an outcome that names what
// happened, no pool goes over its ceiling, and runnerd's memory stays bounded. Prints, per attack,
// whether it was contained, the outcome runnerd recorded and the time from the attack job's start
// to its runner's collection (figures for the README).
//
// What the busybox image cannot do, and what the attacks do instead:
// - 8 "ignoring poweroff": the agent's `poweroff -f` is a busybox applet run by busybox ash, which
//   prefers its applets to anything on PATH (FEATURE_SH_STANDALONE, checked on Debian's
//   busybox-static 1.35), so it cannot be swapped for a no-op; and reboot(2) from any root process
//   ends the container's PID namespace at once, so nothing in it can survive or refuse a poweroff
//   once called. A job can only keep the agent from calling it: it stops the agent (SIGSTOP) and
//   writes the "finished" status the agent writes just before powering off, then ends.
// - 6 "a 2 GiB log": for the same reason `tar` cannot be replaced. The job makes runner.log a
//   256 MiB sparse file and, while the agent's tar is still compressing it, extends the archive
//   the agent is writing to 2 GiB (sparse), which the agent then hands over as logs.tar.gz.
// - 10 "/dev/lxd": busybox has no client for a Unix socket (its nc and wget speak TCP only), so
//   the job cannot speak the devlxd HTTP API; it writes to the socket, opens it with `nc -f`,
//   tries to remove and replace it, and creates files next to it.
// - 11 "flooding loopback services": the instance has no NIC; its one proxy device forwards to
//   the GitHub emulator on the host's loopback. The job holds idle connections open through it,
//   and loops connecting and sending garbage and requests; it also tries runnerd's own port,
//   which the proxy does not forward. (No `-T` on busybox wget: Debian's static build crashes on it.)
//
// Attack 8 failed until runnerd read a busy runner's status file again (pools/observe.ts,
// busyRecheckMs): a runner it had seen busy never became "finishing", held its slot until
// job_timeout (6 h by default) and was recorded job-timeout.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Daemon } from "../../src/daemon/daemon.js";
import type { JobRecord } from "../../src/emulator/index.js";
import { busyRecheckMs } from "../../src/pools/observe.js";
import { logArchiveRead } from "../../src/pools/read-limits.js";
import { finishingDeadlineMs } from "../../src/pools/settings.js";
import type { RunnerRecord } from "../../src/store/index.js";
import { useDaemonWorld } from "../support/daemon-world.js";
import { lxdOrSkip, waitFor } from "../support/lxd-harness.js";

const lxd = await lxdOrSkip();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `job_timeout` for the whole daemon (it is not per pool); the neighbour's jobs take a second or two. */
const jobTimeoutMs = 40_000;
/** What force-stopping and collecting a runner may take after its deadline (the collect read budget is 30 s). */
const collectSlackMs = 30_000;
/** An attack that ends its runner itself: the agent (or a second boot) powers off, runnerd collects. */
const quickBoundMs = 45_000;
const attackerPool = { name: "atk", repo: "acme/atk", slots: 6 };
const neighbourPool = { name: "nbr", repo: "acme/nbr", slots: 2 };
const maxRunners = 10;
/** runnerd's peak RSS bound; the daemon runs in-process, so this is the test process's RSS (daemon, emulator and vitest). */
const rssBoundBytes = 400 * 1024 * 1024;

/** Runs in a root shell (`sudo sh -c`): the pids of runnerd's agent (its shell and subshells), never the caller's own. */
const agentPids = `for d in /proc/[0-9]*; do case "$(tr "\\0" " " 2>/dev/null <$d/cmdline)" in *runner-agent.s[h]*) echo \${d#/proc/} ;; esac; done`;

interface Ports {
  emulator: number;
  runnerd: number;
}

interface Observed {
  /** Phases runnerd's passes showed for the runner, in order of first sight. */
  phases: string[];
  record: RunnerRecord | null;
  job: JobRecord | undefined;
  /** What runnerd saved of the runner's logs, with sizes. */
  logFiles: { name: string; bytes: number }[];
  /** From the attack job's start to its runner's collection, when both happened. */
  toCollectMs: number | null;
}

interface Attack {
  n: number;
  name: string;
  script(ports: Ports): string;
  /** The outcome that names what happened; it may depend on what runnerd saw (a race the job cannot win every time). */
  expected(seen: Observed): string | string[];
  /** Longest time from the attack job's start to its runner's collection. */
  boundMs: number;
  /** Further checks: each returns what is wrong, if anything. */
  check?(seen: Observed): string[];
}

const attacks: Attack[] = [
  {
    n: 1,
    name: "fork bomb",
    // ash gives up a script whose fork fails: the bomb's loop is restarted by a second loop, and
    // the job's own shell waits with builtins only (wait, which forks nothing).
    script: () => `echo "pids.max=$(cat /sys/fs/cgroup/pids.max 2>/dev/null)"
b() { b | b & }
( while :; do ( while :; do b; done ) 2>/dev/null; done ) 2>/dev/null &
while :; do wait; done
`,
    // Either the bomb takes the agent's and the listener's forks down with it, the agent still
    // gets its poweroff out (its last resort, `kill -USR2 1`, is a builtin) and the runner ends
    // on its own with a failed or garbled result; or the bomb outlives the agent, and runnerd
    // times the job out. A runner that ended on its own before the job timeout must not be
    // recorded as timed out, nor one that ran to the timeout as anything else.
    expected: (seen) => (seen.toCollectMs !== null && seen.toCollectMs < jobTimeoutMs ? ["failed", "lost"] : ["job-timeout"]),
    boundMs: jobTimeoutMs + collectSlackMs,
  },
  {
    n: 2,
    name: "fill the root disk",
    script: () => `df -m / | tail -n 1
sudo dd if=/dev/zero of=/fill bs=1M 2>&1 | tail -n 1
df -m / | tail -n 1
echo disk-filled
`,
    // The agent cannot write its result on a full disk; the runner stops without one.
    expected: () => "lost",
    boundMs: quickBoundMs,
  },
  {
    n: 3,
    name: "forged status: busy far in the future",
    script: () => `while :; do
  sudo sh -c 'printf "state=busy\\nat=9999999999\\njob=forged\\n" >/var/lib/runnerd/status'
  sleep 0.2
done
`,
    expected: () => "job-timeout",
    boundMs: jobTimeoutMs + collectSlackMs,
  },
  {
    n: 4,
    name: "status says finished, job stays up",
    // Overwrites the agent's "busy" (written as the job starts) for a few seconds, then stays.
    script: () => `sudo sh -c 'i=0; while [ $i -lt 40 ]; do printf "state=finished\\nat=%s\\njob=\\n" "$(date +%s)" >/var/lib/runnerd/status; i=$((i+1)); usleep 100000; done'
echo "status says finished; staying up"
while :; do sleep 5; done
`,
    // finishing-timeout, whether runnerd saw "finished" first or read the agent's "busy" in the
    // moment before the job overwrote it (a busy runner's status is read again every 10 s).
    expected: () => "finishing-timeout",
    boundMs: finishingDeadlineMs + busyRecheckMs + collectSlackMs,
  },
  {
    n: 5,
    name: "8 GiB sparse result.json",
    script: () => `sudo sh -c 'truncate -s 8G /var/lib/runnerd/result.json; ls -ls /var/lib/runnerd/result.json; poweroff -f'
`,
    expected: () => "lost",
    boundMs: quickBoundMs,
    check: (seen) => (/result\.json.*larger than 65536 bytes/.test(seen.record?.detail ?? "") ? [] : [`detail does not name the refused result.json read: ${seen.record?.detail ?? "(none)"}`]),
  },
  {
    n: 6,
    name: "2 GiB log",
    script: () => `sudo truncate -s 256M /var/lib/runnerd/runner.log
sudo setsid sh -c 'f=/var/lib/runnerd/logs.tar.gz.tmp; while [ ! -e $f ]; do usleep 20000; done; truncate -s 2G $f; ls -ls $f >/var/lib/runnerd/diag/grown 2>&1' </dev/null >/dev/null 2>&1 &
echo "runner.log is 256 MiB; the log archive will be 2 GiB"
`,
    // The job ran and succeeded. Of the 2 GiB archive and the 256 MiB runner.log, runnerd keeps
    // nothing beyond its bound on a log read (refused or cut there), and keeps the result.
    expected: () => "succeeded",
    boundMs: quickBoundMs,
    check: (seen) => {
      const problems = seen.logFiles.filter((f) => f.bytes > logArchiveRead.maxBytes).map((f) => `${f.name} saved with ${f.bytes} bytes`);
      if (!seen.logFiles.some((f) => f.name === "result.json")) problems.push("result.json was not saved");
      return problems;
    },
  },
  {
    n: 7,
    name: "kill the agent",
    script: () => `sudo sh -c 'for p in $(${agentPids}); do kill -9 $p; done'
echo "agent killed: $(sudo sh -c '${agentPids}' | wc -l) agent processes left"
`,
    // Nothing in the instance powers it off or updates its status any more: it looks busy until the job timeout.
    expected: () => "job-timeout",
    boundMs: jobTimeoutMs + collectSlackMs,
  },
  {
    n: 8,
    name: "agent kept from powering off",
    // Works a while first, so that runnerd has seen the runner busy, as for any job that is not
    // over in a moment; then stops the agent and writes what it writes just before its poweroff.
    script: () => `sleep 6
sudo sh -c 'for p in $(${agentPids}); do kill -STOP $p; done; printf "state=finished\\nat=%s\\njob=\\n" "$(date +%s)" >/var/lib/runnerd/status.tmp; mv -f /var/lib/runnerd/status.tmp /var/lib/runnerd/status'
echo "agent stopped; status: $(tr '\\n' ' ' </var/lib/runnerd/status)"
`,
    // The agent reported the end and the instance stayed up: that is finishing-timeout, within
    // the finishing deadline (60 s), whether or not runnerd saw the runner busy before.
    expected: () => "finishing-timeout",
    boundMs: finishingDeadlineMs + busyRecheckMs + collectSlackMs,
  },
  {
    n: 9,
    name: "reboot",
    script: () => `echo rebooting
sudo reboot -f
`,
    // LXD starts it again; the agent finds its first boot's marker and powers off without a result.
    expected: () => "lost",
    boundMs: quickBoundMs,
  },
  {
    n: 10,
    name: "write to /dev/lxd",
    script: () => `ls -la /dev/lxd 2>&1
sudo sh -c 'echo "GET /1.0 HTTP/1.0" >/dev/lxd/sock' 2>&1; echo "write to the socket: exit $?"
sudo nc -f /dev/lxd/sock </dev/null 2>&1; echo "nc -f on the socket: exit $?"
sudo rm -f /dev/lxd/sock 2>&1; echo "rm the socket: exit $?"
sudo sh -c 'echo junk >/dev/lxd/sock' 2>&1; echo "replace the socket: exit $?"
sudo sh -c 'echo junk >/dev/lxd/junk' 2>&1; echo "new file in /dev/lxd: exit $?"
ls -la /dev/lxd 2>&1
echo devlxd-done
`,
    expected: () => "succeeded",
    boundMs: quickBoundMs,
    check: (seen) => (seen.job?.log.includes("devlxd-done") ? [] : ["the job's log does not show it got through its attempts"]),
  },
  {
    n: 11,
    name: "flood loopback services through the proxy device",
    script: (ports) => `echo "listening in the instance: $(netstat -ltn 2>/dev/null | awk 'NR > 2 { print $4 }' | tr '\\n' ' ')"
if out=$(wget -O /dev/null http://127.0.0.1:${ports.runnerd}/metrics 2>&1); then echo "REACHED runnerd on ${ports.runnerd}"; else echo "runnerd's port ${ports.runnerd}: $out"; fi
i=0; while [ $i -lt 40 ]; do (sleep 3600 | nc 127.0.0.1 ${ports.emulator} >/dev/null 2>&1 &); i=$((i+1)); done
i=0; while [ $i -lt 8 ]; do
  (while :; do nc 127.0.0.1 ${ports.emulator} </dev/zero >/dev/null 2>&1; done &)
  (while :; do wget -q -O /dev/null http://127.0.0.1:${ports.emulator}/flood 2>/dev/null; done &)
  i=$((i+1))
done
echo "flooding 127.0.0.1:${ports.emulator}"
sleep 10
echo "after 10 s: $(netstat -tn 2>/dev/null | grep -c ESTABLISHED) connections established, $(ps | wc -l) processes; a request: $(wget -S -O /dev/null http://127.0.0.1:${ports.emulator}/flood-probe 2>&1 | head -n 2 | tr '\n' ' ')"
while :; do sleep 5; done
`,
    expected: () => "job-timeout",
    boundMs: jobTimeoutMs + collectSlackMs,
    check: (seen) => {
      const log = seen.job?.log ?? "";
      if (log.includes("REACHED runnerd")) return ["the job reached runnerd's HTTP port"];
      return /runnerd's port \d+: [\s\S]*?Connection refused/.test(log) ? [] : ["the job's log does not show its attempt on runnerd's port refused"];
    },
  },
];

/** Where LXD (deb/source or snap) keeps the devlxd socket it bind-mounts into instances. */
const devlxdHostSockets = ["/var/lib/lxd/devlxd/sock", "/var/snap/lxd/common/lxd/devlxd/sock", "/var/lib/incus/devIncus/sock", "/var/lib/incus/guestapi/sock"];

describe.skipIf(lxd.skip)("hostile jobs on a real LXD", () => {
  const t = useDaemonWorld();

  it("contains each attack of an attacker pool while a neighbour pool runs its jobs", async () => {
    const runStarted = Date.now();
    const { world } = t;
    const emu = world.emulator;
    world.writeConfig(
      [
        { name: neighbourPool.name, repo: neighbourPool.repo, floor: neighbourPool.slots, ceiling: neighbourPool.slots },
        {
          name: attackerPool.name,
          repo: attackerPool.repo,
          floor: attackerPool.slots,
          ceiling: attackerPool.slots,
          instance: { cpu: "1", memory: "256MiB", processes: 400, disk: "256MiB" },
        },
      ],
      { job_timeout: `${jobTimeoutMs / 1000}s`, max_runners: maxRunners },
    );
    world.pushToken({ repo: neighbourPool.repo });
    world.pushToken({ repo: attackerPool.repo });
    const devlxdSockets = devlxdHostSockets.filter((p) => existsSync(p));
    const daemon = await t.startDaemon();
    const ports: Ports = { emulator: emu.port, runnerd: Number(new URL(daemon.http.url).port) };

    const listening = (repo: string) => emu.runners().filter((r) => "repo" in r.scope && r.scope.repo === repo && r.listeningAt !== null && r.jobIds.length === 0).length;
    await waitFor("every runner of both pools listening", () => (listening(attackerPool.repo) === attackerPool.slots && listening(neighbourPool.repo) === neighbourPool.slots) || undefined, 150_000);

    const sampler = sample(daemon);
    const queuedAt = Date.now();
    // The flood first, so that it runs while the other attacks start and the neighbour's jobs
    // run; then the rest in order, as the pool's six runners free up.
    const attackJobs = new Map<number, number>();
    for (const attack of [...attacks.filter((a) => a.n === 11), ...attacks.filter((a) => a.n !== 11)]) {
      attackJobs.set(attack.n, emu.enqueueJob({ scope: { repo: attackerPool.repo }, labels: ["self-hosted"], name: `attack-${attack.n}`, script: attack.script(ports) }).id);
    }
    // The neighbour's jobs are queued one every 4 s, so that they run all through the attacks.
    const neighbourJobs: number[] = [];
    for (let i = 1; i <= 10; i++) {
      neighbourJobs.push(emu.enqueueJob({ scope: { repo: neighbourPool.repo }, labels: ["self-hosted"], name: `nbr-${i}`, script: `echo "neighbour job ${i} ok"` }).id);
      if (i < 10) await sleep(4000);
    }

    const jobOf = (n: number) => emu.job(attackJobs.get(n) ?? -1);
    const collected = (n: number) => {
      const name = jobOf(n)?.runnerName;
      return name ? (daemon.store.getRunner(name)?.deletedAt ?? null) !== null : false;
    };
    let waitError: unknown;
    let neighbourDone: JobRecord[] = [];
    try {
      neighbourDone = await emu.waitForJobs(neighbourJobs, 180_000);
      await waitFor("every attacker runner collected", () => attacks.every((a) => collected(a.n)) || undefined, Math.max(10_000, 240_000 - (Date.now() - queuedAt)), 500);
    } catch (err) {
      waitError = err;
    }
    const peaks = await sampler.stop();

    // The table, whatever happened.
    const rows = attacks.map((attack) => {
      const job = jobOf(attack.n);
      const name = job?.runnerName ?? null;
      const record = name ? daemon.store.getRunner(name) : null;
      const logsDir = name ? join(world.stateDir, "logs", name) : "";
      const startedAt = job?.startedAt ?? null;
      const deletedAt = record?.deletedAt?.getTime() ?? null;
      const toCollect = startedAt !== null && deletedAt !== null ? deletedAt - startedAt : null;
      const seen: Observed = { phases: name ? (peaks.phases.get(name) ?? []) : [], record, job, logFiles: logsDir && existsSync(logsDir) ? readdirSync(logsDir).map((f) => ({ name: f, bytes: statSync(join(logsDir, f)).size })) : [], toCollectMs: toCollect };
      const wanted = attack.expected(seen);
      const expected = Array.isArray(wanted) ? wanted : [wanted];
      const problems: string[] = [];
      if (!name) problems.push("the attack job never reached a runner");
      else if (deletedAt === null) problems.push("its runner was not collected");
      if (record && !expected.includes(record.outcome ?? "")) problems.push(`outcome ${record.outcome ?? "(none)"}, expected ${expected.join(" or ")}`);
      if (toCollect !== null && toCollect > attack.boundMs) problems.push(`collected ${fmt(toCollect)} after the job started, over its bound of ${fmt(attack.boundMs)}`);
      if (record) problems.push(...(attack.check?.(seen) ?? []));
      return { attack, name, record, seen, expected, toCollect, problems };
    });
    // The flood's requests that got through the proxy device to the emulator (it logs unknown paths).
    const floodRequests = emu.apiCalls().filter((c) => c.path.startsWith("/flood")).length;
    const flood = rows.find((r) => r.attack.n === 11);
    if (flood?.record && floodRequests === 0) flood.problems.push("no request of the flood reached the emulator: the attack did not happen");
    const w = process.stderr.write.bind(process.stderr);
    w(`\nhostile jobs (LXD, busybox image; job_timeout ${fmt(jobTimeoutMs)}, finishing deadline ${fmt(finishingDeadlineMs)}):\n`);
    w(`  # | attack                                         | contained | outcome recorded   | expected           | job start to collected | phases runnerd saw\n`);
    for (const r of rows) {
      const contained = r.name !== null && r.record?.deletedAt != null && (r.toCollect ?? Infinity) <= r.attack.boundMs;
      w(`${String(r.attack.n).padStart(3)} | ${r.attack.name.padEnd(46)} | ${(contained ? "yes" : "NO").padEnd(9)} | ${(r.record?.outcome ?? "-").padEnd(18)} | ${r.expected.join("|").padEnd(18)} | ${(r.toCollect === null ? "-" : fmt(r.toCollect)).padEnd(22)} | ${r.seen.phases.join(" > ")}\n`);
    }
    for (const r of rows) {
      w(`  ${r.attack.n} ${r.attack.name}: runner ${r.name ?? "-"}; detail: ${r.record?.detail ?? "-"}; saved logs: ${r.seen.logFiles.map((f) => `${f.name} (${f.bytes} B)`).join(", ") || "-"}\n`);
      const log = (r.seen.job?.log ?? "").trim();
      if (log) w(`    job log: ${log.split("\n").slice(0, 12).join("\n             ")}\n`);
      for (const p of r.problems) w(`    PROBLEM: ${p}\n`);
    }
    w(`  flood: ${floodRequests} HTTP requests through the proxy device reached the emulator, besides the held and garbage connections\n`);
    w(`  peaks (runnerd's view, creating/starting/idle/busy/finishing): ${[...peaks.perPool].map(([p, n]) => `${p} ${n}`).join(", ")}, host ${peaks.host} (max_runners ${maxRunners})\n`);
    w(`  peak RSS of the test process (runnerd in-process, with the emulator and vitest): ${(peaks.rss / 1048576).toFixed(0)} MiB (at the start ${(peaks.rssAtStart / 1048576).toFixed(0)} MiB, bound ${(rssBoundBytes / 1048576).toFixed(0)} MiB)\n`);
    const waits = neighbourDone.map((j) => (j.completedAt ?? Date.now()) - j.queuedAt);
    w(`  neighbour jobs: ${neighbourDone.filter((j) => j.conclusion === "success").length} of ${neighbourJobs.length} succeeded, completed ${fmt(Math.min(...neighbourDone.map((j) => j.completedAt ?? Infinity)) - queuedAt)} to ${fmt(Math.max(...neighbourDone.map((j) => j.completedAt ?? 0)) - queuedAt)} after the attacks were queued, each queued to completed in at most ${fmt(Math.max(0, ...waits))}; queued to all attacker runners collected ${fmt(Date.now() - queuedAt)}; whole test so far ${fmt(Date.now() - runStarted)}\n\n`);

    if (waitError) throw waitError;

    // The neighbour: every job ran exactly once, on a runner of its own, and succeeded.
    expect(neighbourDone).toHaveLength(10);
    for (const job of neighbourDone) {
      expect(job.conclusion, job.log).toBe("success");
      expect(job.requeues).toBe(0);
      expect(job.log).toContain(`neighbour job ${job.name.slice(4)} ok`);
    }
    expect(new Set(neighbourDone.map((j) => j.runnerName)).size).toBe(10);
    for (const runner of emu.runnerHistory()) expect(runner.jobIds.length).toBeLessThanOrEqual(1);

    // Each attack: collected, within its bound, with the outcome that names it. Soft, so that
    // every attack's verdict is reported.
    for (const r of rows) expect.soft(r.problems, `attack ${r.attack.n} (${r.attack.name}), runner ${r.name ?? "-"}`).toEqual([]);

    // Ceilings and the host cap, as runnerd counted its runners on every sample.
    expect(peaks.perPool.get(attackerPool.name) ?? 0).toBeLessThanOrEqual(attackerPool.slots);
    expect(peaks.perPool.get(neighbourPool.name) ?? 0).toBeLessThanOrEqual(neighbourPool.slots);
    expect(peaks.host).toBeLessThanOrEqual(maxRunners);
    expect(peaks.rss).toBeLessThan(rssBoundBytes);

    // No attacker instance is left in LXD, and the host's devlxd socket is still there.
    const left = new Set((await world.instances()).map((i) => i.name));
    for (const r of rows) if (r.name) expect(left.has(r.name), `${r.name} still exists`).toBe(false);
    for (const socket of devlxdSockets) expect(existsSync(socket), socket).toBe(true);
    // runnerd carries on: both pools are back at their floors.
    await waitFor("both pools listening at their floors again", () => (listening(attackerPool.repo) === attackerPool.slots && listening(neighbourPool.repo) === neighbourPool.slots) || undefined, 90_000);
    process.stderr.write(`hostile jobs: whole test ${fmt(Date.now() - runStarted)}\n`);
  }, 420_000);
});

function fmt(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

interface Peaks {
  perPool: Map<string, number>;
  host: number;
  rss: number;
  rssAtStart: number;
  /** Phases per runner, in order of first sight. */
  phases: Map<string, string[]>;
}

/**
 * Samples runnerd's published status every 100 ms until stopped: the most runners holding a slot
 * at once per pool and host-wide (the phases plan.ts counts toward the caps), the phases each
 * runner was seen in, and the process's RSS.
 */
function sample(daemon: Daemon): { stop(): Promise<Peaks> } {
  const holding = new Set(["creating", "starting", "idle", "busy", "finishing"]);
  const peaks: Peaks = { perPool: new Map(), host: 0, rss: process.memoryUsage().rss, rssAtStart: process.memoryUsage().rss, phases: new Map() };
  let running = true;
  const loop = (async () => {
    while (running) {
      const runners = daemon.reconciler.status()?.runners ?? [];
      const counts = new Map<string, number>();
      for (const r of runners) {
        const phases = peaks.phases.get(r.name) ?? [];
        if (!phases.includes(r.phase)) phases.push(r.phase);
        peaks.phases.set(r.name, phases);
        if (holding.has(r.phase)) counts.set(r.pool, (counts.get(r.pool) ?? 0) + 1);
      }
      for (const [pool, n] of counts) peaks.perPool.set(pool, Math.max(peaks.perPool.get(pool) ?? 0, n));
      peaks.host = Math.max(peaks.host, [...counts.values()].reduce((a, b) => a + b, 0));
      peaks.rss = Math.max(peaks.rss, process.memoryUsage().rss);
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peaks;
    },
  };
}
