// actions/runner releases: GitHub's public releases API over the fake runner's per-version tarballs.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_RUNNER_VERSION, startGitHubEmulator } from "./index.js";
import type { GitHubEmulator } from "./index.js";

interface Asset { name: string; browser_download_url: string; size: number; digest: string | null; content_type: string; download_count: number }
interface Release { tag_name: string; name: string; published_at: string; draft: boolean; prerelease: boolean; body: string; assets: Asset[] }

let emu: GitHubEmulator;
const dirs: string[] = [];

beforeEach(async () => {
  emu = await startGitHubEmulator();
});
afterEach(async () => {
  await emu.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function getJson<T>(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; link: string | null }> {
  const res = await fetch(`${emu.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as T, link: res.headers.get("link") };
}

async function latest(): Promise<Release> {
  const res = await getJson<Release>("/repos/actions/runner/releases/latest");
  expect(res.status).toBe(200);
  return res.body;
}

/** The checksum the way installers read it from real release notes. */
function bodySha(body: string, arch: string): string | undefined {
  return new RegExp(`<!-- BEGIN SHA linux-${arch} -->([0-9a-f]{64})<!-- END SHA linux-${arch} -->`).exec(body)?.[1];
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

async function extract(tarball: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "runner-release-"));
  dirs.push(dir);
  execFileSync("tar", ["-xzf", "-", "-C", dir], { input: tarball });
  return dir;
}

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

describe("actions/runner releases", () => {
  it("starts with one release of the default version, published days ago", async () => {
    const release = await latest();
    const tag = `v${DEFAULT_RUNNER_VERSION}`;
    expect(release).toMatchObject({ tag_name: tag, name: tag, draft: false, prerelease: false });
    expect(Date.now() - Date.parse(release.published_at)).toBeGreaterThan(2 * 24 * 3600_000);
    expect(release.assets.map((a) => a.name)).toEqual([
      `actions-runner-linux-x64-${DEFAULT_RUNNER_VERSION}.tar.gz`, `actions-runner-linux-arm64-${DEFAULT_RUNNER_VERSION}.tar.gz`,
    ]);
    const sha = emu.runnerReleaseSha256(DEFAULT_RUNNER_VERSION);
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    for (const asset of release.assets) {
      expect(asset).toMatchObject({ content_type: "application/gzip", digest: `sha256:${sha}`, download_count: 0 });
      expect(asset.browser_download_url).toBe(`${emu.url}/_downloads/${asset.name}`);
    }
    expect(bodySha(release.body, "x64")).toBe(sha);
    expect(bodySha(release.body, "arm64")).toBe(sha);
    expect(emu.runnerVersion).toBe(DEFAULT_RUNNER_VERSION);
    const byTag = await getJson<Release>(`/repos/actions/runner/releases/tags/${tag}`);
    expect(byTag.body).toEqual(release);
    expect((await getJson<Release[]>("/repos/actions/runner/releases")).body).toEqual([release]);
    expect(emu.violations).toEqual([]);
  });

  it("is public under / and /api/v3, takes a valid token, and answers 401 to a bad one", async () => {
    expect((await getJson("/api/v3/repos/actions/runner/releases/latest")).status).toBe(200);
    expect((await getJson("/repos/Actions/Runner/releases/latest", { authorization: `Bearer ${emu.pat}` })).status).toBe(200);
    expect((await getJson("/repos/actions/runner/releases", { authorization: `token ${emu.pat}` })).status).toBe(200);
    const bad = await getJson<{ message: string }>("/repos/actions/runner/releases/latest", { authorization: "Bearer ghp_wrong" });
    expect(bad.status).toBe(401);
    expect(bad.body.message).toBe("Bad credentials");
    expect(emu.violations).toEqual([]);
  });

  it("answers 404 for an unknown tag, another repository, and an unknown tarball", async () => {
    expect((await getJson("/repos/actions/runner/releases/tags/v9.9.9")).status).toBe(404);
    expect((await getJson(`/repos/actions/runner/releases/tags/${DEFAULT_RUNNER_VERSION}`)).status).toBe(404);
    expect((await getJson("/repos/octo/app/releases/latest")).status).toBe(404);
    expect((await fetch(`${emu.url}/_downloads/actions-runner-linux-x64-9.9.9.tar.gz`)).status).toBe(404);
    expect((await fetch(`${emu.url}/_downloads/actions-runner-linux-s390x-${DEFAULT_RUNNER_VERSION}.tar.gz`)).status).toBe(404);
    expect(emu.violations).toEqual([]);
  });

  it("makes a newly published release the latest, in the list, the downloads API and by tag", async () => {
    const published = await emu.publishRunnerRelease("2.331.0");
    expect(published).toMatchObject({ version: "2.331.0", tag: "v2.331.0", sha256: emu.runnerReleaseSha256("2.331.0") });
    expect(published.sha256).not.toBe(emu.runnerReleaseSha256(DEFAULT_RUNNER_VERSION));
    expect((await latest()).tag_name).toBe("v2.331.0");
    expect(emu.runnerVersion).toBe("2.331.0");
    const list = await getJson<Release[]>("/repos/actions/runner/releases");
    expect(list.body.map((r) => r.tag_name)).toEqual(["v2.331.0", `v${DEFAULT_RUNNER_VERSION}`]);
    const page2 = await getJson<Release[]>("/repos/actions/runner/releases?per_page=1&page=2");
    expect(page2.body.map((r) => r.tag_name)).toEqual([`v${DEFAULT_RUNNER_VERSION}`]);
    expect(page2.link).toMatch(/rel="prev"/);
    expect((await getJson<Release[]>("/repos/actions/runner/releases?per_page=1")).link).toMatch(/page=2>; rel="next"/);
    const apps = await getJson<Array<{ architecture: string; download_url: string; sha256_checksum: string }>>(
      "/repos/octo/app/actions/runners/downloads", { authorization: `Bearer ${emu.pat}` });
    expect(apps.body.map((a) => [a.architecture, a.sha256_checksum])).toEqual([["x64", published.sha256], ["arm64", published.sha256]]);
    expect(apps.body[0]?.download_url).toBe(`${emu.url}/_downloads/actions-runner-linux-x64-2.331.0.tar.gz`);
    // The older release stays downloadable.
    expect((await fetch(`${emu.url}/_downloads/actions-runner-linux-arm64-${DEFAULT_RUNNER_VERSION}.tar.gz`)).status).toBe(200);
    expect(emu.violations).toEqual([]);
  });

  it("keeps the newest publishedAt as latest, and refuses a version twice or a bad one", async () => {
    await emu.publishRunnerRelease("2.329.0", new Date(Date.now() - 30 * 24 * 3600_000));
    expect(emu.runnerReleases().map((r) => r.version)).toEqual([DEFAULT_RUNNER_VERSION, "2.329.0"]);
    expect((await latest()).tag_name).toBe(`v${DEFAULT_RUNNER_VERSION}`);
    await expect(emu.publishRunnerRelease("2.329.0")).rejects.toThrow(/exists already/);
    await expect(emu.publishRunnerRelease("latest")).rejects.toThrow(/2\.330\.0/);
  });

  it("serves tarballs whose sha256 is the one in the notes, the digest and the downloads API", async () => {
    await emu.publishRunnerRelease("2.400.1");
    const release = await latest();
    const asset = release.assets.find((a) => a.name.includes("-x64-"));
    const tarball = await download(asset?.browser_download_url ?? "");
    expect(tarball.length).toBe(asset?.size);
    expect(`sha256:${sha256(tarball)}`).toBe(asset?.digest);
    expect(bodySha(release.body, "x64")).toBe(sha256(tarball));
    expect(emu.runnerReleaseSha256("2.400.1")).toBe(sha256(tarball));
    // Packing is deterministic and cached: the same version gives the same bytes in another emulator.
    const other = await startGitHubEmulator({ runnerVersion: "2.400.1", validate: false });
    try {
      expect(other.runnerReleaseSha256("2.400.1")).toBe(sha256(tarball));
    } finally {
      await other.close();
    }

    const dir = await extract(tarball);
    expect(await readFile(join(dir, "VERSION"), "utf8")).toBe("2.400.1\n");
    expect((await stat(join(dir, "bin/installdependencies.sh"))).mode & 0o111).not.toBe(0);
    expect(execFileSync("/bin/sh", [join(dir, "config.sh"), "--version"], { encoding: "utf8" }).trim()).toBe("2.400.1");
    const entries = execFileSync("tar", ["-tzf", "-"], { input: tarball, encoding: "utf8" }).split("\n");
    expect(entries).toContain("./run.sh");
    expect(entries.filter((e) => e.endsWith(".ts"))).toEqual([]);

    expect((await latest()).assets.find((a) => a.name === asset?.name)?.download_count).toBe(1);
    expect(emu.runnerReleases()[0]?.downloads).toEqual({ [asset?.name ?? ""]: 1 });
    expect(emu.violations).toEqual([]);
  });

  it("validates release answers against GitHub's schema", async () => {
    emu.failNext({ path: "/releases/latest", mutateBody: (body) => ({ ...(body as object), assets: [{ name: "x" }] }) });
    expect((await getJson("/repos/actions/runner/releases/latest")).status).toBe(500);
    expect(emu.violations.map((v) => v.operationId)).toEqual(["repos/get-latest-release"]);
    emu.violations.length = 0;
  });

  it("puts the port into URLs when the client's Host header has none (Wget2 leaves it out)", async () => {
    const text = await new Promise<string>((resolve, reject) => {
      get({ host: "127.0.0.1", port: emu.port, path: "/repos/actions/runner/releases/latest", headers: { host: "127.0.0.1" } }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        res.on("end", () => resolve(body));
      }).on("error", reject);
    });
    const release = JSON.parse(text) as Release;
    expect(release.assets[0]?.browser_download_url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${emu.port}/_downloads/`));
  });

  it("lets a download fail through failNext", async () => {
    emu.failNext({ path: "/_downloads/", status: 503 });
    const url = `${emu.url}/_downloads/actions-runner-linux-x64-${DEFAULT_RUNNER_VERSION}.tar.gz`;
    expect((await fetch(url)).status).toBe(503);
    expect((await fetch(url)).status).toBe(200);
  });

  it("publishes and lists releases through the admin API", async () => {
    const created = await fetch(`${emu.url}/_admin/runner-releases`, { method: "POST", body: JSON.stringify({ version: "2.332.0" }) });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ version: "2.332.0", sha256: emu.runnerReleaseSha256("2.332.0") });
    const again = await fetch(`${emu.url}/_admin/runner-releases`, { method: "POST", body: JSON.stringify({ version: "2.332.0" }) });
    expect(again.status).toBe(422);
    const old = await fetch(`${emu.url}/_admin/runner-releases`, {
      method: "POST", body: JSON.stringify({ version: "2.300.0", publishedAt: "2024-01-02T03:04:05Z" }),
    });
    expect(((await old.json()) as { publishedAt: number }).publishedAt).toBe(Date.parse("2024-01-02T03:04:05Z"));
    const list = (await (await fetch(`${emu.url}/_admin/runner-releases`)).json()) as Array<{ version: string }>;
    expect(list.map((r) => r.version)).toEqual(["2.332.0", DEFAULT_RUNNER_VERSION, "2.300.0"]);
    expect((await latest()).tag_name).toBe("v2.332.0");
  });
});
