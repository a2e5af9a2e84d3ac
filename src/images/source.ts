// Where an image build starts: `remote:alias` on one of LXD's standard image servers, or a local
// alias or fingerprint. The same names `lxc launch` takes, so operators can copy them over.
import { isImageFingerprint } from "../lxd/index.js";

export type BuildSource =
  | { kind: "remote"; remote: string; server: string; protocol: "simplestreams"; alias: string }
  | { kind: "alias"; alias: string }
  | { kind: "fingerprint"; fingerprint: string };

/** LXD's and Incus's default remotes, as `lxc remote list` shows them on a fresh install. */
export const STANDARD_REMOTES: Readonly<Record<string, string>> = {
  images: "https://images.linuxcontainers.org",
  ubuntu: "https://cloud-images.ubuntu.com/releases",
  "ubuntu-daily": "https://cloud-images.ubuntu.com/daily",
  "ubuntu-minimal": "https://cloud-images.ubuntu.com/minimal/releases",
};

export function parseBuildSource(source: string): BuildSource {
  const colon = source.indexOf(":");
  if (colon > 0) {
    const remote = source.slice(0, colon);
    const alias = source.slice(colon + 1);
    const server = STANDARD_REMOTES[remote];
    if (server === undefined) {
      throw new Error(`image source "${source}": unknown remote "${remote}"; known: ${Object.keys(STANDARD_REMOTES).join(", ")} (or give a local alias or fingerprint)`);
    }
    if (alias === "") throw new Error(`image source "${source}": no image after "${remote}:"`);
    return { kind: "remote", remote, server, protocol: "simplestreams", alias };
  }
  if (isImageFingerprint(source)) return { kind: "fingerprint", fingerprint: source };
  return { kind: "alias", alias: source };
}

/** The LXD create-instance source for a parsed build source. */
export function lxdImageSource(source: BuildSource): { alias: string; server?: string; protocol?: "simplestreams" } | { fingerprint: string } {
  switch (source.kind) {
    case "remote":
      return { alias: source.alias, server: source.server, protocol: source.protocol };
    case "alias":
      return { alias: source.alias };
    case "fingerprint":
      return { fingerprint: source.fingerprint };
  }
}

/** The LXD alias runnerd publishes image NAME under. */
export function imageAlias(name: string): string {
  return `runnerd/${name}`;
}
