// Runner release lookup and the tarball cache, against the GitHub emulator's releases API (whose
// answers are validated against GitHub's OpenAPI description).
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGitHubEmulator, type GitHubEmulator } from "../emulator/index.js";
import { cachedRunnerTarball } from "./runner-cache.js";
import { bodySha256, compareVersions, listRunnerReleases, resolveRunnerRelease } from "./runner-release.js";

let emu: GitHubEmulator;
let cache: string;
beforeAll(async () => {
  emu = await startGitHubEmulator();
  cache = mkdtempSync(join(tmpdir(), "runnerd-cache-"));
});
afterAll(async () => {
  await emu.close();
  rmSync(cache, { recursive: true, force: true });
});

describe("runner releases", () => {
  it("resolves latest and a pinned version with the asset's sha256", async () => {
    await emu.publishRunnerRelease("2.331.0");
    const latest = await resolveRunnerRelease({ apiUrl: emu.apiUrl }, "latest", "x64");
    expect(latest).toMatchObject({ version: "2.331.0", filename: "actions-runner-linux-x64-2.331.0.tar.gz", sha256: emu.runnerReleaseSha256("2.331.0") });
    const pinned = await resolveRunnerRelease({ apiUrl: emu.apiUrl }, "2.330.0", "arm64");
    expect(pinned).toMatchObject({ version: "2.330.0", filename: "actions-runner-linux-arm64-2.330.0.tar.gz" });
    expect(emu.violations).toEqual([]);
  });

  it("says which version does not exist", async () => {
    await expect(resolveRunnerRelease({ apiUrl: emu.apiUrl }, "2.100.0", "x64")).rejects.toThrow(/release 2\.100\.0 .*answered 404/);
  });

  it("lists releases newest first", async () => {
    const list = await listRunnerReleases({ apiUrl: emu.apiUrl });
    expect(list.map((r) => r.version).slice(0, 2)).toEqual(["2.331.0", "2.330.0"]);
  });

  it("reads checksums from actions/runner's release notes and compares versions numerically", () => {
    const hex = "a".repeat(64);
    expect(bodySha256(`x <!-- BEGIN SHA linux-x64 -->${hex}<!-- END SHA linux-x64 --> y`, "linux-x64")).toBe(hex);
    expect(bodySha256(`<!-- BEGIN SHA linux-arm64 -->${hex}<!-- END SHA linux-arm64 -->`, "linux-x64")).toBeUndefined();
    expect(compareVersions("2.10.0", "2.9.9")).toBe(1);
    expect(compareVersions("2.330.0", "2.330.0")).toBe(0);
  });
});

describe("runner tarball cache", () => {
  it("downloads once, verifies the sha256 and reuses the file", async () => {
    const release = await resolveRunnerRelease({ apiUrl: emu.apiUrl }, "latest", "x64");
    const first = await cachedRunnerTarball(release, cache);
    expect(first.reused).toBe(false);
    expect(createHash("sha256").update(readFileSync(first.path)).digest("hex")).toBe(release.sha256);
    expect((await cachedRunnerTarball(release, cache)).reused).toBe(true);
  });

  it("replaces a corrupt cached file", async () => {
    const release = await resolveRunnerRelease({ apiUrl: emu.apiUrl }, "latest", "x64");
    writeFileSync(join(cache, release.filename), "garbage");
    expect((await cachedRunnerTarball(release, cache)).reused).toBe(false);
  });

  it("refuses a download whose sha256 does not match, and keeps nothing of it", async () => {
    const release = await resolveRunnerRelease({ apiUrl: emu.apiUrl }, "2.330.0", "x64");
    const lying = { ...release, sha256: "0".repeat(64), filename: "lying.tar.gz" };
    await expect(cachedRunnerTarball(lying, cache)).rejects.toThrow(/sha256 is [0-9a-f]{64}, the release says 0{64}; refusing it/);
    expect(() => readFileSync(join(cache, "lying.tar.gz"))).toThrow();
    expect(() => readFileSync(join(cache, "lying.tar.gz.part"))).toThrow();
  });
});
