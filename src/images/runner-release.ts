// Which actions/runner release to put in an image, and its checksum. Without credentials on the
// server (push mode), the public releases API of actions/runner is the source: the tarball's
// sha256 comes from the asset's `digest`, or from the checksum lines GitHub's release notes carry.
import { z } from "zod";

export interface RunnerRelease {
  version: string;
  publishedAt: Date | undefined;
  filename: string;
  url: string;
  sha256: string;
}

export interface ReleaseSummary {
  version: string;
  publishedAt: Date | undefined;
}

export interface ReleaseQuery {
  /** REST API base, e.g. https://api.github.com (GHES: https://HOST/api/v3). */
  apiUrl: string;
  token?: string;
  timeoutMs?: number;
}

const assetSchema = z.object({
  name: z.string(),
  browser_download_url: z.string(),
  digest: z.string().nullable().optional(),
});

const releaseSchema = z.object({
  tag_name: z.string(),
  published_at: z.string().nullable(),
  draft: z.boolean().optional(),
  prerelease: z.boolean().optional(),
  body: z.string().nullable().optional(),
  assets: z.array(assetSchema),
});

type Release = z.infer<typeof releaseSchema>;

const RUNNER_REPO = "repos/actions/runner";

export function versionOfTag(tag: string): string {
  return tag.replace(/^v/, "");
}

export function runnerTarballName(arch: string, version: string): string {
  return `actions-runner-linux-${arch}-${version}.tar.gz`;
}

/** The release `version` ("latest" or "2.329.0") for `arch`, with its download URL and sha256. */
export async function resolveRunnerRelease(query: ReleaseQuery, version: string, arch: string): Promise<RunnerRelease> {
  const path = version === "latest" ? `${RUNNER_REPO}/releases/latest` : `${RUNNER_REPO}/releases/tags/v${version}`;
  const release = releaseSchema.parse(await getJson(query, path, `actions/runner release ${version}`));
  const resolved = versionOfTag(release.tag_name);
  const filename = runnerTarballName(arch, resolved);
  const asset = release.assets.find((a) => a.name === filename);
  if (!asset) throw new Error(`actions/runner ${release.tag_name} has no asset ${filename} (assets: ${release.assets.map((a) => a.name).join(", ") || "none"})`);
  const sha256 = assetSha256(asset.digest) ?? bodySha256(release.body ?? "", `linux-${arch}`);
  if (!sha256) throw new Error(`actions/runner ${release.tag_name}: no sha256 for ${filename} in the asset digest or the release notes`);
  return { version: resolved, publishedAt: parseDate(release.published_at), filename, url: asset.browser_download_url, sha256 };
}

/** Published (non-draft, non-prerelease) releases, newest first. */
export async function listRunnerReleases(query: ReleaseQuery, perPage = 30): Promise<ReleaseSummary[]> {
  const releases = z.array(releaseSchema).parse(await getJson(query, `${RUNNER_REPO}/releases?per_page=${perPage}`, "actions/runner releases"));
  return releases
    .filter((r: Release) => !r.draft && !r.prerelease)
    .map((r: Release) => ({ version: versionOfTag(r.tag_name), publishedAt: parseDate(r.published_at) }))
    .sort((a, b) => compareVersions(b.version, a.version));
}

export function assetSha256(digest: string | null | undefined): string | undefined {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest ?? "");
  return m?.[1];
}

/** actions/runner's release notes carry `<!-- BEGIN SHA linux-x64 -->HEX<!-- END SHA linux-x64 -->`. */
export function bodySha256(body: string, platform: string): string | undefined {
  const quoted = platform.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`<!-- BEGIN SHA ${quoted} -->\\s*([0-9a-f]{64})\\s*<!-- END SHA ${quoted} -->`).exec(body);
  return m?.[1];
}

/** Numeric comparison of dotted versions ("2.10.0" > "2.9.1"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function parseDate(value: string | null): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

async function getJson(query: ReleaseQuery, path: string, what: string): Promise<unknown> {
  const url = `${query.apiUrl.replace(/\/+$/, "")}/${path}`;
  const headers: Record<string, string> = {
    accept: "application/vnd.github+json",
    "x-github-api-version": "2022-11-28",
    "user-agent": "runnerd",
  };
  if (query.token) headers.authorization = `Bearer ${query.token}`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(query.timeoutMs ?? 30_000) });
  } catch (err) {
    throw new Error(`read ${what} from ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!res.ok) {
    const hint = res.status === 403 || res.status === 429 ? " (rate limited? unauthenticated calls get 60 an hour)" : "";
    throw new Error(`read ${what} from ${url}: GitHub answered ${res.status}${hint}`);
  }
  return res.json();
}
