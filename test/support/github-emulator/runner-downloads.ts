// The runner-application list, and the fake runner packed as the tarball that list points at.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RunnerApplication } from "./types.js";

export const FAKE_RUNNER_DIR = fileURLToPath(new URL("../fake-runner/", import.meta.url));

export interface RunnerTarball {
  data: Buffer;
  sha256: string;
}

/** Packs the fake runner like actions-runner-linux-*.tar.gz: files at the archive root. */
export function packFakeRunner(): Promise<RunnerTarball | null> {
  return new Promise((resolve) => {
    execFile("tar", ["-czf", "-", "--exclude=*.ts", "-C", FAKE_RUNNER_DIR, "."],
      { encoding: "buffer", maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
        // Without tar the list still works; only the download answers 404.
        if (err !== null) resolve(null);
        else resolve({ data: stdout, sha256: createHash("sha256").update(stdout).digest("hex") });
      });
  });
}

export function tarballName(arch: string, version: string): string {
  return `actions-runner-linux-${arch}-${version}.tar.gz`;
}

export function defaultRunnerApplications(origin: string, version: string, sha256?: string): RunnerApplication[] {
  return ["x64", "arm64"].map((architecture) => {
    const filename = tarballName(architecture, version);
    const app: RunnerApplication = { os: "linux", architecture, download_url: `${origin}/_downloads/${filename}`, filename };
    if (sha256 !== undefined) app.sha256_checksum = sha256;
    return app;
  });
}
