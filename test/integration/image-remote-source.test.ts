// Building from a remote image source for real: the Debian 12 test image, served by a simplestreams
// server on loopback (test/support/simplestreams-server.ts says what LXD and Incus require of one,
// and where that comes from), is downloaded by the daemon (LXD, or Incus with RUNNERD_BACKEND=incus)
// into a builder, and `runnerd image build` refuses, before any builder exists, a standard remote
// that cannot serve this backend.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { BUILDER_KEY, buildConfiguredImage, imageAlias, propertyKeys } from "../../src/images/index.js";
import { backend, createTestWorld, ensureBuilt, lxdOrSkip, runCli, testStoragePool, type TestWorld } from "../support/lxd-harness.js";
import { debianSourceImage, ensureDebianSourceImage, startAptCache } from "../support/images/docker-test-images.js";
import { debianArch, restampedCopy, selfSignedCertificate, startSimplestreamsServer, type ServedImage, type SimplestreamsServer } from "../support/simplestreams-server.js";

const run = promisify(execFile);
const lxd = await lxdOrSkip();
const cli = backend() === "incus" ? "incus" : "lxc";
const remoteAlias = "runnerd-test/debian12";

describe.skipIf(lxd.skip)(`remote image sources on ${backend()}`, () => {
  let world: TestWorld;
  let dir: string;
  let proxy: string;
  let plain: SimplestreamsServer;
  let secure: SimplestreamsServer;
  const served: ServedImage[] = [];
  const instances: string[] = [];

  beforeAll(async () => {
    [proxy] = await Promise.all([startAptCache(), ensureDebianSourceImage(), ensureBuilt()]);
    world = await createTestWorld();
    dir = mkdtempSync(join(tmpdir(), "runnerd-simplestreams-"));
    await run(cli, ["image", "export", debianSourceImage, `${dir}/`], { maxBuffer: 64 * 1024 * 1024 });
    const exported = join(dir, readdirSync(dir).find((f) => f.endsWith(".tar.gz")) ?? "missing.tar.gz");
    // Two copies with fingerprints no local image has, so each server's image is really downloaded.
    const stamp = Math.floor(Date.now() / 1000);
    for (const [index, name] of ["plain", "secure"].entries()) {
      const file = join(dir, `${name}.tar.gz`);
      served.push({ alias: remoteAlias, file, ...restampedCopy(exported, file, stamp + index), arch: debianArch(), os: "Debian", release: "bookworm" });
    }
    rmSync(exported);
    plain = await startSimplestreamsServer([served[0] as ServedImage]);
    secure = await startSimplestreamsServer([served[1] as ServedImage], await selfSignedCertificate(dir));
  }, 15 * 60_000);

  afterAll(async () => {
    for (const name of instances) await world?.lxd.deleteInstance(name, { force: true }).catch(() => undefined);
    // The daemon keeps each downloaded image as a cached image: remove the ones this test made.
    for (const image of served) await world?.lxd.deleteImage(image.fingerprint).catch(() => undefined);
    await Promise.all([plain?.close(), secure?.close()]);
    await world?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const instanceName = (what: string): string => `rd-remote-${what}-${process.pid}`.slice(0, 63);
  const root = { root: { type: "disk", path: "/", pool: testStoragePool } };

  it("the daemon refuses an HTTPS image server whose certificate the source does not give", { timeout: 60_000 }, async () => {
    const name = instanceName("nocert");
    instances.push(name);
    const create = world.lxd.createInstance({ name, source: { alias: remoteAlias, server: secure.url, protocol: "simplestreams" }, profiles: ["default"], devices: root });
    await expect(create).rejects.toThrow(/x509|certificate/i);
    expect(await world.lxd.getImage(served[1]?.fingerprint ?? "")).toBeNull();
  });

  it("creates an instance from the HTTPS server with its certificate in the source", { timeout: 120_000 }, async () => {
    const name = instanceName("tls");
    instances.push(name);
    await world.lxd.createInstance({ name, source: { alias: remoteAlias, server: secure.url, protocol: "simplestreams", certificate: secure.certificate }, profiles: ["default"], devices: root });
    expect((await world.lxd.getInstance(name))?.config["volatile.base_image"]).toBe(served[1]?.fingerprint);
    const paths = secure.requests.filter((r) => r.status === 200).map((r) => r.path);
    expect(paths).toEqual(expect.arrayContaining(["/streams/v1/index.json", "/streams/v1/images.json", `/images/${served[1]?.fingerprint}.tar.gz`]));
    expect((await world.lxd.getImage(served[1]?.fingerprint ?? ""))?.properties).toMatchObject({ os: "Debian", release: "bookworm" });
  });

  it("runnerd image build downloads its source from the server and builds from it", { timeout: 10 * 60_000 }, async () => {
    world.trackImage("remote");
    world.writeConfig([{ name: "web", floor: 0, image: imageAlias("remote") }], { images: { remote: { source: `mirror:${remoteAlias}`, packages: [], docker: false, proxy } } });
    const progress: string[] = [];
    const result = await buildConfiguredImage(world.lxd, loadConfig(world.configPath), "remote", {
      remotes: { mirror: { server: plain.url, protocol: "simplestreams" } },
      progress: (text) => progress.push(text),
    });
    expect(result.built).toBe(true);
    expect(progress.join("")).toContain(`creating builder runnerd-build-remote-`);
    expect(result.image.properties).toMatchObject({ [propertyKeys.source]: `mirror:${remoteAlias}`, [propertyKeys.sourceFingerprint]: served[0]?.fingerprint });
    expect(plain.requests.filter((r) => r.status === 200).map((r) => r.path)).toEqual(expect.arrayContaining(["/streams/v1/index.json", "/streams/v1/images.json", `/images/${served[0]?.fingerprint}.tar.gz`]));
    expect(await world.lxd.listInstances({ configKey: BUILDER_KEY, value: "remote" })).toEqual([]);
  });

  it("config check and image build refuse a standard remote that cannot serve this backend, before any builder", { timeout: 120_000 }, async () => {
    // LXD 5.0.2's images: is images.linuxcontainers.org (Incus and LXC only); Incus has no ubuntu: remote.
    const source = backend() === "incus" ? "ubuntu:24.04" : "images:ubuntu/24.04";
    const instead = backend() === "incus" ? "images:ubuntu/24.04" : "ubuntu:24.04";
    world.writeConfig([{ name: "web", floor: 0, image: imageAlias("refused") }], { images: { refused: { source, packages: [], docker: false } } });
    const line = new RegExp(`${world.configPath.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:\\d+:\\d+: images\\.refused\\.source: .*cannot build from it: .*; use ${instead.replace(/[./]/g, "\\$&")} instead`);
    const check = await runCli(["--config", world.configPath, "config", "check"]);
    expect(check.code, check.stdout + check.stderr).toBe(2);
    expect(check.stderr).toMatch(line);
    // Only once config check refused it: a build that got past the check would reach out to the internet.
    const build = await runCli(["--config", world.configPath, "image", "build", "refused"]);
    expect(build.code, build.stdout + build.stderr).toBe(2);
    expect(build.stderr).toMatch(line);
    expect(build.stdout).not.toContain("creating builder");
    expect(await world.lxd.listInstances({ configKey: BUILDER_KEY, value: "refused" })).toEqual([]);
  });
});
