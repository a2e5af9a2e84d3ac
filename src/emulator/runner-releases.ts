// actions/runner's releases, served like GitHub's public releases API, one per fake-runner version.
import { HttpError } from "./http-io.js";
import type { Reply } from "./http-io.js";
import { clampInt, linkHeader } from "./rest-api.js";
import { RUNNER_ARCHES, downloadUrl, packFakeRunner, tarballName } from "./runner-downloads.js";
import { param } from "./routes.js";
import type { Route, RouteContext } from "./routes.js";
import { notifyChange } from "./state.js";
import type { EmulatorState, RunnerRelease } from "./state.js";
import type { RunnerReleaseInfo } from "./types.js";

const DAY_MS = 24 * 3600 * 1000;
/** How long ago the release an emulator starts with came out. */
export const INITIAL_RELEASE_AGE_MS = 7 * DAY_MS;

/** Packs the version's tarball and adds its release; the newest `publishedAt` (default now) is latest. */
export async function publishRunnerRelease(state: EmulatorState, version: string, publishedAt?: Date): Promise<RunnerRelease> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`a runner version looks like 2.330.0, not "${version}"`);
  const at = Math.floor((publishedAt?.getTime() ?? state.now()) / 1000) * 1000;
  if (!Number.isFinite(at)) throw new Error("publishedAt is not a valid date");
  const tarball = await packFakeRunner(version);
  // Checked after packing, so two publishes of one version racing each other cannot both win.
  if (findRelease(state, version) !== undefined) throw new Error(`runner release v${version} exists already`);
  const release: RunnerRelease = { id: state.nextReleaseId++, version, publishedAt: at, tarball, downloads: new Map() };
  // Newest first; of two published in the same second, the later call counts as newer.
  const index = state.releases.findIndex((r) => r.publishedAt <= at);
  state.releases.splice(index === -1 ? state.releases.length : index, 0, release);
  notifyChange(state);
  return release;
}

export function findRelease(state: EmulatorState, version: string): RunnerRelease | undefined {
  return state.releases.find((r) => r.version === version);
}

export function snapshotRelease(release: RunnerRelease): RunnerReleaseInfo {
  return {
    version: release.version,
    tag: `v${release.version}`,
    publishedAt: release.publishedAt,
    sha256: release.tarball?.sha256 ?? null,
    downloads: Object.fromEntries(release.downloads),
  };
}

/** GitHub's timestamps have no fraction of a second. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The account real actions/runner releases are published by (the release workflow's bot). */
function bot(origin: string): Record<string, unknown> {
  const user = `${origin}/api/v3/users/github-actions%5Bbot%5D`;
  return {
    login: "github-actions[bot]", id: 41898282, node_id: "MDM6Qm90NDE4OTgyODI=",
    avatar_url: `${origin}/avatars/u/41898282`, gravatar_id: "", url: user, html_url: `${origin}/apps/github-actions`,
    followers_url: `${user}/followers`, following_url: `${user}/following{/other_user}`, gists_url: `${user}/gists{/gist_id}`,
    starred_url: `${user}/starred{/owner}{/repo}`, subscriptions_url: `${user}/subscriptions`, organizations_url: `${user}/orgs`,
    repos_url: `${user}/repos`, events_url: `${user}/events{/privacy}`, received_events_url: `${user}/received_events`,
    type: "Bot", user_view_type: "public", site_admin: false,
  };
}

/** The checksum block of real actions/runner release notes, which installers parse. */
function releaseBody(release: RunnerRelease): string {
  const lines = ["## Changes", "", `- Fake runner ${release.version} served by the runnerd GitHub emulator.`, ""];
  const sha = release.tarball?.sha256;
  if (sha !== undefined) {
    lines.push("## SHA-256 Checksums", "", "The SHA-256 checksums for the packages included in this build are shown below:", "");
    for (const arch of RUNNER_ARCHES) {
      lines.push(`- ${tarballName(arch, release.version)} <!-- BEGIN SHA linux-${arch} -->${sha}<!-- END SHA linux-${arch} -->`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function toApiAsset(origin: string, release: RunnerRelease, arch: string, index: number): Record<string, unknown> {
  const name = tarballName(arch, release.version);
  const id = release.id * 100 + index + 1;
  const at = isoSeconds(release.publishedAt);
  return {
    url: `${origin}/api/v3/repos/actions/runner/releases/assets/${id}`,
    browser_download_url: downloadUrl(origin, name),
    id, node_id: Buffer.from(`ReleaseAsset${id}`).toString("base64"), name, label: "", state: "uploaded",
    content_type: "application/gzip",
    size: release.tarball?.data.length ?? 0,
    digest: release.tarball === null ? null : `sha256:${release.tarball.sha256}`,
    download_count: release.downloads.get(name) ?? 0,
    created_at: at, updated_at: at, uploader: bot(origin),
  };
}

export function toApiRelease(origin: string, release: RunnerRelease): Record<string, unknown> {
  const tag = `v${release.version}`;
  const api = `${origin}/api/v3/repos/actions/runner`;
  const at = isoSeconds(release.publishedAt);
  return {
    url: `${api}/releases/${release.id}`,
    html_url: `${origin}/actions/runner/releases/tag/${tag}`,
    assets_url: `${api}/releases/${release.id}/assets`,
    upload_url: `${origin}/api/uploads/repos/actions/runner/releases/${release.id}/assets{?name,label}`,
    tarball_url: `${api}/tarball/${tag}`,
    zipball_url: `${api}/zipball/${tag}`,
    id: release.id, node_id: Buffer.from(`Release${release.id}`).toString("base64"),
    tag_name: tag, target_commitish: "main", name: tag, body: releaseBody(release),
    draft: false, prerelease: false, immutable: false,
    created_at: at, published_at: at, updated_at: at,
    author: bot(origin),
    assets: RUNNER_ARCHES.map((arch, i) => toApiAsset(origin, release, arch, i)),
  };
}

function listReleases(ctx: RouteContext): Reply {
  const perPage = clampInt(ctx.query.get("per_page"), 30, 1, 100);
  const page = clampInt(ctx.query.get("page"), 1, 1, Number.MAX_SAFE_INTEGER);
  const all = ctx.state.releases;
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const headers: Record<string, string> = {};
  const link = linkHeader(ctx, page, lastPage);
  if (link !== "") headers.link = link;
  const slice = all.slice((page - 1) * perPage, page * perPage);
  return { status: 200, headers, body: slice.map((r) => toApiRelease(ctx.origin, r)) };
}

function releaseByTag(ctx: RouteContext): Reply {
  const tag = param(ctx, 0);
  const release = tag.startsWith("v") ? findRelease(ctx.state, tag.slice(1)) : undefined;
  if (release === undefined) throw new HttpError(404, "Not Found");
  return { status: 200, body: toApiRelease(ctx.origin, release) };
}

function latestRelease(ctx: RouteContext): Reply {
  const release = ctx.state.releases[0];
  if (release === undefined) throw new HttpError(404, "Not Found");
  return { status: 200, body: toApiRelease(ctx.origin, release) };
}

function route(tail: string, operationId: string, handle: Route["handle"]): Route {
  // Owner and repository names are case-insensitive on GitHub; tags are not (the lookup is exact).
  return { method: "GET", pattern: new RegExp(`^/repos/actions/runner/releases${tail}$`, "i"), operationId, auth: "public", body: "json", handle };
}

/** Only actions/runner has releases here; any other repository's release paths answer 404. */
export const releaseRoutes: readonly Route[] = [
  route("", "repos/list-releases", listReleases),
  route("/latest", "repos/get-latest-release", latestRelease),
  route("/tags/(.+)", "repos/get-release-by-tag", releaseByTag),
];
