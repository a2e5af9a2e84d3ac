// `runnerd demo`: the whole cycle on this machine with no GitHub account — a local GitHub
// emulator, the busybox test image, two pools, a handful of jobs (one fails, one is slow), a live
// view of runners being replaced, a summary, and then everything it created is removed.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { startDaemon, type Daemon } from "../../daemon/daemon.js";
import { createLogger } from "../../log.js";
import { backend, backendCli, busyboxImage, ensureBusyboxImage, lxdUnavailableReason, repoRoot, waitFor, watchStops } from "./lxd-host.js";
import { renderLiveView, renderSummary, type DemoJob } from "./view.js";
import { createEmulatorWorld, type EmulatorWorld } from "./world.js";

export async function runDemo(): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (await lxdUnavailableReason()) {
    say(`${backend()} is not ready: running scripts/setup-${backend()}.sh (installs ${backend()} and btrfs-progs, creates a btrfs pool)`);
    execFileSync("bash", [join(repoRoot, `scripts/setup-${backend()}.sh`)], { stdio: "inherit" });
  }
  const imageExisted = execFileSync(backendCli(), ["image", "list", busyboxImage, "--format", "csv"]).toString().trim() !== "";
  say(`preparing the busybox runner image ${busyboxImage} ...`);
  await ensureBusyboxImage();

  const world = await createEmulatorWorld({ longPollMs: 5000 });
  const { stops, events } = watchStops(world.lxd);
  let daemon: Daemon | undefined;
  try {
    await events.ready;
    world.writeConfig(
      [
        // Floors of 2 and 1 waiting runners; each pool may grow to its max while all are busy.
        { name: "web", repo: "acme/web", floor: 2, ceiling: 4, labels: ["demo"] },
        { name: "api", repo: "acme/api", floor: 1, ceiling: 2, labels: ["demo"] },
      ],
      { log_level: "info" },
    );
    say(`GitHub emulator at ${world.emulator.url}; runnerd state in ${world.stateDir} (daemon log: daemon.log)`);
    world.pushToken({ repo: "acme/web" });
    world.pushToken({ repo: "acme/api" });
    const logFile = join(world.stateDir, "daemon.log");
    const { createWriteStream } = await import("node:fs");
    daemon = await startDaemon({ configPath: world.configPath, logger: createLogger("info", createWriteStream(logFile)) });

    await waitFor("the first runners to listen", () => world.emulator.runners().filter((r) => r.listeningAt !== null).length >= 3 || undefined, 120_000);
    const jobs = enqueueDemoJobs(world);
    await watch(world, daemon, jobs);
    const done = jobs.map((j) => world.emulator.job(j.id)).filter((j) => j !== undefined);
    say(renderSummary(done, world.emulator.runnerHistory(), stops));
  } finally {
    events.close();
    say("cleaning up: stopping the daemon, deleting runner instances and the demo's state ...");
    await daemon?.shutdown();
    await world.cleanup();
    if (!imageExisted) execFileSync(backendCli(), ["image", "delete", busyboxImage], { stdio: "ignore" });
    say(`done. LXD and its storage pool stay installed${imageExisted ? `; the image ${busyboxImage} was already there and stays` : ""}.`);
  }
}

function enqueueDemoJobs(world: EmulatorWorld): DemoJob[] {
  const specs: { repo: string; name: string; script: string }[] = [
    { repo: "acme/web", name: "build", script: "echo building on $RUNNER_NAME; sleep 1" },
    { repo: "acme/web", name: "unit-tests", script: "echo testing; sleep 2" },
    { repo: "acme/api", name: "lint", script: "echo linting; sleep 1" },
    { repo: "acme/web", name: "flaky-test", script: "echo 'this one fails on purpose'; exit 3" },
    { repo: "acme/api", name: "integration (slow)", script: "echo 'a slow job'; sleep 12" },
    { repo: "acme/web", name: "root-files", script: "sudo sh -c 'echo leftover > /opt/leftover'; echo wrote a root-owned file" },
    { repo: "acme/web", name: "clean-check", script: "test ! -e /opt/leftover && echo 'fresh runner: nothing left from earlier jobs'" },
    { repo: "acme/api", name: "package", script: "echo packaging; sleep 1" },
    { repo: "acme/web", name: "deploy-preview", script: "echo deploying; sleep 1" },
  ];
  return specs.map((s) => {
    const job = world.emulator.enqueueJob({ scope: { repo: s.repo }, labels: ["self-hosted", "demo"], name: s.name, script: s.script });
    return { id: job.id, name: s.name };
  });
}

async function watch(world: EmulatorWorld, daemon: Daemon, jobs: DemoJob[]): Promise<void> {
  const tty = process.stdout.isTTY;
  let last = "";
  let interrupted = false;
  process.once("SIGINT", () => (interrupted = true));
  for (;;) {
    if (interrupted) throw new Error("interrupted");
    const status = daemon.reconciler.status();
    const records = jobs.map((j) => world.emulator.job(j.id)).filter((j) => j !== undefined);
    const view = renderLiveView(status, records, Date.now());
    if (view !== last) {
      process.stdout.write(tty ? `\x1b[2J\x1b[H${view}\n` : `${view}\n\n`);
      last = view;
    }
    if (records.every((j) => j.status === "completed")) return;
    await new Promise((resolve) => setTimeout(resolve, tty ? 300 : 2000));
  }
}
