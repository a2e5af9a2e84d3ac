// LXD and Incus name their request and answer headers differently (`X-LXD-*`, `X-Incus-*`):
// runnerd sends both and reads either, so one client serves both daemons.

/**
 * Each field under both names. LXD reads only `X-LXD-*`. Incus reads `X-Incus-*`: 6.0 falls back
 * to `X-LXD-*` for file headers, later releases do not, taking a missing type as "file"
 * (lxc/incus shared/api/headers.go, ParseFileHeaders); an image upload reads only
 * `X-Incus-properties`, `-fingerprint` and `-filename` (cmd/incusd/images.go, getImgPostInfo).
 */
export function bothHeaderFamilies(fields: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    headers[`x-lxd-${key}`] = value;
    headers[`x-incus-${key}`] = value;
  }
  return headers;
}

/**
 * An answer header under either name (`key` in lower case, e.g. "type"). Incus 6.0.4 answers file
 * reads with `X-Incus-Type`, `-Mode`, `-Uid`, `-Gid` only.
 */
export function answerHeader(headers: Record<string, string>, key: string): string | undefined {
  return headers[`x-lxd-${key}`] ?? headers[`x-incus-${key}`];
}
