// Benchmark for Docker-capable runners: how long `runnerd image build` takes with warm caches,
// how soon after a runner stops its replacement is ready for a Docker job, and how much disk an
// idle runner costs on btrfs. Real daemon (child process), real LXD, the Debian 12 test image,
// the GitHub emulator. Prints a table; writes JSON.
//
//   npm run bench:docker [-- --cycles 20] [--proxy http://127.0.0.1:3143]  (another apt cache, e.g. an empty one for a cold build)
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stopDaemon, summary } from "./stats.js";
import { imageAlias } from "../src/images/index.js";
import { createTestWorld, lxdUnavailableReason, repoRoot, runCli, testStoragePool, waitFor, watchStops } from "../test/support/lxd-harness.js";
import { settledStorageUsed } from "../test/support/storage.js";
import { dockerTestImageConfig, ensureDebianSourceImage, makeBusyboxDockerTarball, startAptCache } from "../test/support/images/docker-test-images.js";

const { values } = parseArgs({ options: { cycles: { type: "string", default: "20" }, proxy: { type: "string" }, out: { type: "string", default: "test-results/bench-docker.json" } } });
const cycles = Number(values.cycles);
const MiB = 1_048_576;


// Proves the runner was ready for Docker when it took the job: the first `docker info` answers.
const dockerJob = `t0=$(date +%s%N); docker info --format '{{.ServerVersion}}' >/dev/null; t1=$(date +%s%N)
echo "docker-info-ms=$(( (t1 - t0) / 1000000 ))"
docker run --rm local/busybox:test true`;

async function main(): Promise<void> {
  const unavailable = await lxdUnavailableReason();
  if (unavailable) throw new Error(`the benchmark needs LXD: ${unavailable} (run scripts/setup-lxd.sh)`);
  const [proxy] = await Promise.all([values.proxy ?? startAptCache(), ensureDebianSourceImage()]);
  const world = await createTestWorld({ longPollMs: 5000 });
  process.stderr.write(`state dir ${world.stateDir}\n`);
  const { stops, events } = watchStops(world.lxd);
  await events.ready;
  let daemon: ChildProcess | undefined;
  try {
    const tarball = join(world.stateDir, "busybox-docker.tar");
    await makeBusyboxDockerTarball(tarball);
    world.trackImage("bench");
    const images = { bench: dockerTestImageConfig(proxy, tarball) };
    world.writeConfig([{ name: "bench", repo: "acme/bench", floor: 1, ceiling: 1, image: imageAlias("bench") }], { images, log_level: "warn" });

    const t0 = Date.now();
    const build = await runCli(["--config", world.configPath, "image", "build", "bench"], { timeoutMs: 30 * 60_000 });
    if (build.code !== 0) throw new Error(`image build failed:\n${build.stdout}\n${build.stderr}`);
    const buildSeconds = (Date.now() - t0) / 1000;

    world.pushToken({ repo: "acme/bench" });
    daemon = spawn(process.execPath, [join(repoRoot, "bin/runnerd"), "--config", world.configPath, "up"], { stdio: "ignore" });
    const idleRunner = (exclude: Set<string>) =>
      waitFor("an idle runner", () => world.emulator.runners().find((r) => r.listeningAt !== null && r.jobIds.length === 0 && !exclude.has(r.name)), 120_000, 20);

    const used = new Set<string>();
    let current = await idleRunner(used);
    const idleDisk = await settledStorageUsed(world.lxd, testStoragePool);
    const replacement: number[] = [];
    const dockerInfo: number[] = [];
    for (let i = 0; i < cycles; i++) {
      used.add(current.name);
      const job = world.emulator.enqueueJob({ scope: { repo: "acme/bench" }, labels: ["self-hosted"], name: `docker-${i}`, script: dockerJob });
      const [done] = await world.emulator.waitForJobs([job.id], 120_000);
      if (done?.conclusion !== "success") throw new Error(`job ${i} failed:\n${done?.log}`);
      dockerInfo.push(Number(/docker-info-ms=(\d+)/.exec(done.log)?.[1] ?? NaN));
      const next = await idleRunner(used);
      const stoppedAt = await waitFor(`stop event of ${current.name}`, () => stops.get(current.name), 60_000, 10);
      replacement.push((next.listeningAt ?? NaN) - stoppedAt);
      current = next;
      process.stderr.write(`\rcycle ${i + 1}/${cycles}: stop -> ready for Docker ${replacement.at(-1)} ms   `);
    }
    process.stderr.write("\n");

    // Disk per idle runner: with the runner gone, the pool's use falls by what the runner cost.
    await stopDaemon(daemon);
    await world.removeInstances();
    const emptyDisk = await settledStorageUsed(world.lxd, testStoragePool);

    const result = {
      date: new Date().toISOString(),
      image_build_s: Math.round(buildSeconds * 10) / 10,
      stop_to_ready_for_docker_ms: summary(replacement),
      first_docker_info_in_job_ms: summary(dockerInfo),
      disk_per_idle_runner_mib: Math.round(((idleDisk - emptyDisk) / MiB) * 10) / 10,
    };
    mkdirSync(join(repoRoot, "test-results"), { recursive: true });
    writeFileSync(join(repoRoot, values.out ?? "test-results/bench-docker.json"), `${JSON.stringify(result, null, 2)}\n`);
    const r = result.stop_to_ready_for_docker_ms;
    const d = result.first_docker_info_in_job_ms;
    console.log(`
| measure                                                        | p50      | p95      | n   |
|----------------------------------------------------------------|----------|----------|-----|
| runner stopped -> successor listening (Docker already answers) | ${String(r.p50).padStart(5)} ms | ${String(r.p95).padStart(5)} ms | ${r.n} |
| the job's first 'docker info'                                  | ${String(d.p50).padStart(5)} ms | ${String(d.p95).padStart(5)} ms | ${d.n} |

image build (runner tarball downloaded; apt cache ${values.proxy ? values.proxy : "warm"}): ${result.image_build_s} s
disk per idle runner (btrfs copy-on-write, Docker started): ${result.disk_per_idle_runner_mib} MiB
(written to ${values.out})`);
  } finally {
    events.close();
    await stopDaemon(daemon);
    await world.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
