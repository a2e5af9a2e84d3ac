// The runner-application list, and the fake runner packed per version as the tarballs it points at.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { installFakeRunner } from "./fake-runner/index.js";
import type { RunnerApplication } from "./types.js";

/** The version the emulator's first runner release has unless `runnerVersion` says otherwise. */
export const DEFAULT_RUNNER_VERSION = "2.330.0";
/** The architectures each release has a tarball for (the fake runner is the same for both). */
export const RUNNER_ARCHES = ["x64", "arm64"] as const;

export interface RunnerTarball {
  data: Buffer;
  sha256: string;
}

// Per process, not per emulator: tests start many emulators, and a version packs to the same bytes.
const packed = new Map<string, Promise<RunnerTarball | null>>();

/** The fake runner packed like actions-runner-linux-*.tar.gz, its VERSION file saying `version`. */
export function packFakeRunner(version: string): Promise<RunnerTarball | null> {
  let tarball = packed.get(version);
  if (tarball === undefined) {
    tarball = pack(version);
    packed.set(version, tarball);
  }
  return tarball;
}

async function pack(version: string): Promise<RunnerTarball | null> {
  const stage = await mkdtemp(join(tmpdir(), "fake-runner-pack-"));
  try {
    await installFakeRunner(stage);
    await writeFile(join(stage, "VERSION"), `${version}\n`);
    // The archive's "./" entry carries this mode, and tar applies it to the extraction directory.
    await chmod(stage, 0o755);
    const tar = await tarDirectory(stage);
    // Null when tar is missing (or not GNU tar): the lists still work, only downloads answer 404.
    if (tar === null) return null;
    // zlib rather than tar -z: gzip would stamp the current time into the header.
    const data = gzipSync(tar);
    return { data, sha256: createHash("sha256").update(data).digest("hex") };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** Files at the archive root as in the real tarball; names, times and owners fixed so bytes repeat. */
function tarDirectory(dir: string): Promise<Buffer | null> {
  const args = ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "-C", dir, "."];
  return new Promise((resolve) => {
    execFile("tar", args, { encoding: "buffer", maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      resolve(err === null ? stdout : null);
    });
  });
}

export function tarballName(arch: string, version: string): string {
  return `actions-runner-linux-${arch}-${version}.tar.gz`;
}

/** `actions-runner-linux-<arch>-<version>.tar.gz` → its parts, or null for any other name. */
export function parseTarballName(name: string): { arch: string; version: string } | null {
  const m = /^actions-runner-linux-([a-z0-9]+)-(\d+\.\d+\.\d+)\.tar\.gz$/.exec(name);
  return m?.[1] === undefined || m[2] === undefined ? null : { arch: m[1], version: m[2] };
}

export function downloadUrl(origin: string, filename: string): string {
  return `${origin}/_downloads/${filename}`;
}

export function defaultRunnerApplications(origin: string, version: string, sha256?: string): RunnerApplication[] {
  return RUNNER_ARCHES.map((architecture) => {
    const filename = tarballName(architecture, version);
    const app: RunnerApplication = { os: "linux", architecture, download_url: downloadUrl(origin, filename), filename };
    if (sha256 !== undefined) app.sha256_checksum = sha256;
    return app;
  });
}
