// The image remotes each backend's own CLI knows (`lxc remote list`, `incus remote list` on a
// fresh install), and whether the server behind each publishes images that backend can read.
// runnerd resolves `remote:alias` with this table, so a source means what it means to `lxc launch`
// or `incus launch` on the same host.
//
// Where the facts come from:
// - LXD's remotes: canonical/lxd `lxc/config/default.go` at each tag. 5.0.0-5.0.3 and 5.1-5.20:
//   `images` is https://images.linuxcontainers.org; 5.21.0 has no `images` remote; 5.0.4+, 5.21.1+
//   and 6.x: `images` is https://images.lxd.canonical.com (commit ed8073c3ee, 2024-04-02).
//   `ubuntu` and `ubuntu-daily` (cloud-images.ubuntu.com) are in every release; `ubuntu-minimal`
//   and `ubuntu-minimal-daily` from 5.0.3 and 5.18.
// - Incus's remotes: lxc/incus `shared/cliconfig/default.go` (6.0.4 and main): `images` only, at
//   https://images.linuxcontainers.org.
// - Which images a backend reads from a simplestreams server: `shared/simplestreams/products.go`.
//   LXD (5.0.2 `ToLXD`, main) takes the items `lxd_combined.tar.gz` and `lxd.tar.xz` (+ a rootfs);
//   Incus 6.0.4 (`ToAPI`) only `incus_combined.tar.gz` and `incus.tar.xz` (+ a rootfs).
//   cloud-images.ubuntu.com publishes `lxd.tar.xz` items, so Incus finds no image there.
// - images.linuxcontainers.org has served Incus and LXC only, not LXD, since 2024 ("Important
//   notice for LXD users (image server)", discuss.linuxcontainers.org thread 18479).

/** The daemon a source is resolved for: `GET /1.0`'s `environment.server` and `server_version`. */
export interface SourceTarget {
  backend: string;
  version: string;
}

export interface StandardRemote {
  server: string;
  /** Why this backend cannot use what the server publishes; undefined when it can. */
  refusal?: string;
}

const LINUXCONTAINERS = "https://images.linuxcontainers.org";
const LXD_CANONICAL = "https://images.lxd.canonical.com";
const UBUNTU = {
  ubuntu: "https://cloud-images.ubuntu.com/releases",
  "ubuntu-daily": "https://cloud-images.ubuntu.com/daily",
  "ubuntu-minimal": "https://cloud-images.ubuntu.com/minimal/releases",
  "ubuntu-minimal-daily": "https://cloud-images.ubuntu.com/minimal/daily",
} as const;

export function isIncus(target: SourceTarget): boolean {
  return target.backend.toLowerCase() === "incus";
}

/** "LXD 5.0.2", "Incus 6.0.4". */
export function describeTarget(target: SourceTarget): string {
  return `${isIncus(target) ? "Incus" : "LXD"}${target.version ? ` ${target.version}` : ""}`;
}

/** [major, minor, patch]; a version that does not parse counts as the newest. */
export function parseVersion(version: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!m) return [Number.MAX_SAFE_INTEGER, 0, 0];
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function atLeast(v: [number, number, number], major: number, minor: number, patch = 0): boolean {
  if (v[0] !== major) return v[0] > major;
  if (v[1] !== minor) return v[1] > minor;
  return v[2] >= patch;
}

/** Where LXD's CLI of this version points `images:`, if it has that remote at all. */
function lxdImagesRemote(v: [number, number, number]): StandardRemote | undefined {
  const canonical = (v[0] === 5 && v[1] === 0 && v[2] >= 4) || atLeast(v, 5, 21, 1);
  if (canonical) return { server: LXD_CANONICAL };
  if (v[0] === 5 && v[1] === 21 && v[2] === 0) return undefined;
  return {
    server: LINUXCONTAINERS,
    refusal: `its images: remote is ${LINUXCONTAINERS} there, which has served Incus and LXC only, not LXD, since 2024 (LXD 5.0.4 and 5.21.1 moved images: to ${LXD_CANONICAL})`,
  };
}

/** The remotes `lxc remote list` or `incus remote list` shows on a fresh install of this version. */
export function standardRemotes(target: SourceTarget): Record<string, StandardRemote> {
  if (isIncus(target)) return { images: { server: LINUXCONTAINERS } };
  const v = parseVersion(target.version);
  const remotes: Record<string, StandardRemote> = {};
  const images = lxdImagesRemote(v);
  if (images) remotes.images = images;
  remotes.ubuntu = { server: UBUNTU.ubuntu };
  remotes["ubuntu-daily"] = { server: UBUNTU["ubuntu-daily"] };
  if ((v[0] === 5 && v[1] === 0 && v[2] >= 3) || atLeast(v, 5, 18)) {
    remotes["ubuntu-minimal"] = { server: UBUNTU["ubuntu-minimal"] };
    remotes["ubuntu-minimal-daily"] = { server: UBUNTU["ubuntu-minimal-daily"] };
  }
  return remotes;
}

/** A remote of LXD's CLI that Incus's lacks, with why it would not help on Incus anyway. */
export function lxdOnlyRemote(remote: string): string | undefined {
  if (!(remote in UBUNTU)) return undefined;
  return `"${remote}" is LXD's remote for cloud-images.ubuntu.com, which Incus's CLI does not have: that server publishes LXD-format images only (lxd.tar.xz items), which Incus does not read`;
}

/** The default build source for a backend: one whose server publishes images this backend reads. */
export function defaultSourceFor(target: SourceTarget): string {
  return isIncus(target) ? "images:ubuntu/24.04" : "ubuntu:24.04";
}
