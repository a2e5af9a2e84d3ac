// What the Docker tests need on the host: the Debian 12 source image, the apt cache the builder
// reaches through a proxy device, and a Docker image made locally from busybox (never pulled from
// a registry).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, copyFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "../lxd-harness.js";

const run = promisify(execFile);

export const debianSourceImage = "runnerd-test/debian12";

/** Starts (or finds) the apt cache on loopback and returns its URL. */
export async function startAptCache(): Promise<string> {
  const { stdout } = await run("bash", [join(repoRoot, "scripts/start-apt-cache.sh")], { maxBuffer: 4 * 1024 * 1024 });
  return stdout.trim();
}

/** Builds (or finds current) the debootstrapped Debian 12 source image. */
export async function ensureDebianSourceImage(): Promise<void> {
  await run("bash", [join(repoRoot, "test/support/images/build-debian-source-image.sh"), debianSourceImage], { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 });
}

const applets = ["sh", "true", "httpd", "wget", "mkdir", "echo", "cat", "sleep", "ls", "id", "touch", "stat", "nslookup", "hostname"];

/** A rootfs tarball for `docker import`: the host's static busybox and a few applet links. */
export async function makeBusyboxDockerTarball(outFile: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "runnerd-docker-busybox-"));
  try {
    mkdirSync(join(root, "bin"));
    mkdirSync(join(root, "tmp"), { mode: 0o1777 });
    copyFileSync("/bin/busybox", join(root, "bin", "busybox"));
    for (const applet of applets) symlinkSync("busybox", join(root, "bin", applet));
    await run("tar", ["--owner=0", "--group=0", "--numeric-owner", "-C", root, "-cf", outFile, "."]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The images: entry the Docker tests and bench build: the Debian 12 source with Docker (no
 * Compose, to save time) and the local busybox image imported as local/busybox:test.
 */
export function dockerTestImageConfig(proxy: string, busyboxTarball: string): Record<string, unknown> {
  return {
    source: debianSourceImage,
    packages: [],
    docker_compose: false,
    proxy,
    files: [{ source: busyboxTarball, target: "/opt/images/busybox.tar" }],
    steps: ["docker import /opt/images/busybox.tar local/busybox:test\nrm -rf /opt/images"],
  };
}
