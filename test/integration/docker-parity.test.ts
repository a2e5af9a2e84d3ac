// The seed's scenario against the real LXD, through `runnerd image build` and a pool: a dockerized
// job that runs two containers on a user-defined network, publishes a port on 127.0.0.1, writes
// root-owned files through a bind mount, and leaves a container, a volume and a network behind.
// The next job, on a fresh runner of the same pool, finds none of it and succeeds the same way.
// Afterwards the storage pool's used space is back at its baseline.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageAlias, propertyKeys } from "../../src/images/index.js";
import { ensureBuilt, lxdOrSkip, runCli, testStoragePool, waitFor } from "../support/lxd-harness.js";
import { useDaemonWorld } from "../support/daemon-world.js";
import { settledStorageUsed as settle } from "../support/storage.js";
import { dockerTestImageConfig, ensureDebianSourceImage, makeBusyboxDockerTarball, startAptCache } from "../support/images/docker-test-images.js";

const lxd = await lxdOrSkip();
const MiB = 1_048_576;
// Both jobs do this; it prints one line per proof, and fails on the first thing that does not work.
const dockerWork = `
docker version --format 'docker server {{.Server.Version}}'
docker network create parity-net >/dev/null
docker run -d --name web --network parity-net local/busybox:test sh -c 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
by_name=""
for i in $(seq 1 40); do by_name=$(docker run --rm --network parity-net local/busybox:test wget -qO- http://web/ 2>/dev/null) && break; sleep 0.25; done
echo "by name: $by_name"
docker run -d --name published -p 127.0.0.1:18080:80 local/busybox:test sh -c 'mkdir -p /www && echo published-page > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
page=""
for i in $(seq 1 40); do page=$(wget -qO- http://127.0.0.1:18080/ 2>/dev/null) && break; sleep 0.25; done
echo "published: $page"
docker run --rm -v "$GITHUB_WORKSPACE:/ws" local/busybox:test sh -c 'echo made-in-container > /ws/root-file && mkdir /ws/root-dir'
echo "workspace: $(stat -c 'root-file uid=%u' root-file) $(stat -c 'root-dir uid=%u' root-dir)"
echo "cleanup as the runner user: $(rm -f root-file 2>/dev/null && echo removed || echo refused)"
docker volume create parity-vol >/dev/null
docker run --rm -v parity-vol:/data local/busybox:test sh -c 'echo kept > /data/f'
echo "left behind: containers=$(docker ps -q | wc -l) volume=$(docker volume ls -q | tr '\\n' ' ')network=$(docker network ls -q --filter name=parity-net | wc -l)"
`;

const firstJob = `set -e\necho "job on $RUNNER_NAME as uid $(id -u), groups: $(id -Gn)"\n${dockerWork}\necho job-done`;

const secondJob = `set -e
echo "job on $RUNNER_NAME as uid $(id -u)"
leftover="containers:$(docker ps -aq | wc -l) volumes:$(docker volume ls -q | wc -l) networks:$(docker network ls -q --filter name=parity-net | wc -l) files:$(ls -A "$GITHUB_WORKSPACE" | wc -l)"
echo "found before starting: $leftover"
[ "$leftover" = "containers:0 volumes:0 networks:0 files:0" ]
${dockerWork}
echo job-done`;

describe.skipIf(lxd.skip)("Docker parity on a runner image built by runnerd", () => {
  const t = useDaemonWorld();

  const settledStorageUsed = () => settle(t.world.lxd, testStoragePool);

  it("builds the image, runs the dockerized job twice on fresh runners, and leaves no storage behind", { timeout: 40 * 60_000 }, async () => {
    const [proxy] = await Promise.all([startAptCache(), ensureDebianSourceImage(), ensureBuilt()]);
    const dockerTarball = join(t.world.stateDir, "busybox-docker.tar");
    await makeBusyboxDockerTarball(dockerTarball);
    t.world.trackImage("parity");
    const images = { parity: dockerTestImageConfig(proxy, dockerTarball) };
    const pool = { name: "dock", repo: "acme/dock", floor: 1, ceiling: 2, image: imageAlias("parity") };
    t.world.writeConfig([pool], { images });

    const started = Date.now();
    const build = await runCli(["--config", t.world.configPath, "image", "build", "parity"], { timeoutMs: 30 * 60_000 });
    const buildSeconds = (Date.now() - started) / 1000;
    expect(build.code, `${build.stdout}\n${build.stderr}`).toBe(0);
    expect(build.stdout).toMatch(/==> installing packages: sudo ca-certificates tar gzip docker.io/);
    expect(build.stdout).toMatch(/runnerd\/parity: [0-9a-f]{12}, actions\/runner \d+\.\d+\.\d+/);
    console.log(`image build took ${buildSeconds.toFixed(1)} s`);

    const alias = await t.world.lxd.getImageAlias(imageAlias("parity"));
    const built = alias ? await t.world.lxd.getImage(alias.target) : null;
    expect(built?.properties[propertyKeys.runnerVersion]).toBe(t.world.emulator.runnerVersion);
    expect(built?.properties[propertyKeys.name]).toBe("parity");
    expect(await t.world.lxd.listInstances({ configKey: "user.runnerd.builder", value: "parity" })).toEqual([]);

    // doctor starts a throwaway runner of the pool, agent disarmed, and sees Docker answer.
    const doctor = await runCli(["--config", t.world.configPath, "doctor"], { timeoutMs: 5 * 60_000 });
    expect(doctor.stdout, doctor.stdout + doctor.stderr).toMatch(/ok +pool dock: Docker [\d.]+\S* \(overlay2\) runs inside a runner \(answered [\d.]+ s after start; nesting works\)/);
    expect((await t.world.lxd.listInstances()).filter((i) => i.name.startsWith("rd-doctor-"))).toEqual([]);

    // LXD unpacks an image into the storage pool when the first instance is made from it, and
    // keeps it: make that happen before the baseline, so the baseline means "no runners".
    const probe = `rt-probe-${t.world.controllerId}`;
    await t.world.lxd.createInstance({ name: probe, source: { alias: imageAlias("parity") }, profiles: ["default"], devices: { root: { type: "disk", path: "/", pool: testStoragePool } } });
    await t.world.lxd.deleteInstance(probe);
    const baseline = await settledStorageUsed();
    t.world.pushToken({ repo: "acme/dock" });
    await t.startDaemon();

    const job1 = t.world.emulator.enqueueJob({ scope: { repo: "acme/dock" }, labels: ["self-hosted"], name: "dockerized-1", script: firstJob });
    const [done1] = await t.world.emulator.waitForJobs([job1.id], 10 * 60_000);
    expect(done1?.conclusion, done1?.log).toBe("success");
    const log1 = done1?.log ?? "";
    expect(log1).toMatch(/as uid 1001, groups: .*docker/);
    expect(log1).toContain("by name: hello-from-web");
    expect(log1).toContain("published: published-page");
    expect(log1).toContain("workspace: root-file uid=0 root-dir uid=0");
    expect(log1).toContain("left behind: containers=2 volume=parity-vol network=1");

    const job2 = t.world.emulator.enqueueJob({ scope: { repo: "acme/dock" }, labels: ["self-hosted"], name: "dockerized-2", script: secondJob });
    const [done2] = await t.world.emulator.waitForJobs([job2.id], 10 * 60_000);
    expect(done2?.conclusion, done2?.log).toBe("success");
    expect(done2?.runnerName).not.toBe(done1?.runnerName);
    const log2 = done2?.log ?? "";
    expect(log2).toContain("found before starting: containers:0 volumes:0 networks:0 files:0");
    expect(log2).toContain("by name: hello-from-web");
    expect(log2).toContain("published: published-page");
    expect(log2).toContain("left behind: containers=2 volume=parity-vol network=1");

    // Per idle runner: what a copy-on-write clone of the image costs once Docker has started in it.
    const idle = await waitFor("an idle runner after both jobs", async () => {
      const list = await t.world.instances();
      return list.length === 1 && list[0]?.status === "Running" ? list : undefined;
    }, 5 * 60_000);
    const perRunner = (await settledStorageUsed()) - baseline;
    console.log(`storage used by ${idle.length} idle runner: ${(perRunner / MiB).toFixed(1)} MiB`);

    await t.stopDaemon();
    await t.world.removeInstances();
    const after = await settledStorageUsed();
    expect((after - baseline) / MiB, `storage used: baseline ${baseline}, after ${after} bytes`).toBeLessThan(16);
    console.log(`storage: baseline ${(baseline / MiB).toFixed(1)} MiB, after ${(after / MiB).toFixed(1)} MiB`);
  });
});
