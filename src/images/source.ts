// Where an image build starts: `remote:alias` on one of the backend's standard image servers, or a
// local alias or fingerprint. The same names `lxc launch` (on LXD) or `incus launch` (on Incus)
// takes on the same host, so operators can copy them over; remotes.ts says what each name means.
import { isImageFingerprint } from "../lxd/index.js";
import { defaultSourceFor, describeTarget, isIncus, lxdOnlyRemote, standardRemotes, type SourceTarget } from "./remotes.js";

export type { SourceTarget } from "./remotes.js";
export { defaultSourceFor, describeTarget, standardRemotes } from "./remotes.js";

export type BuildSource =
  | { kind: "remote"; remote: string; server: string; protocol: "simplestreams"; alias: string }
  | { kind: "alias"; alias: string }
  | { kind: "fingerprint"; fingerprint: string };

/** A simplestreams image server beyond the backend's standard remotes, e.g. a mirror of one's own. */
export interface ImageRemote {
  server: string;
  protocol: "simplestreams";
}

/**
 * A source resolved for one backend: what to build from (`text` is the default when the config
 * names none), or why this backend cannot build from it and what to use instead.
 */
export type SourceCheck =
  | { ok: true; text: string; source: BuildSource; isDefault: boolean }
  | { ok: false; text: string; problem: string; instead: string };

export function checkBuildSource(configured: string | undefined, target: SourceTarget, extra: Readonly<Record<string, ImageRemote>> = {}): SourceCheck {
  const text = configured ?? defaultSourceFor(target);
  const colon = text.indexOf(":");
  if (colon <= 0) {
    const source: BuildSource = isImageFingerprint(text) ? { kind: "fingerprint", fingerprint: text } : { kind: "alias", alias: text };
    return { ok: true, text, source, isDefault: configured === undefined };
  }
  const remote = text.slice(0, colon);
  const alias = text.slice(colon + 1);
  const refuse = (problem: string): SourceCheck => ({ ok: false, text, problem, instead: insteadOf(remote, alias, target) });
  if (alias === "") return refuse(`no image after "${remote}:"`);
  const custom = extra[remote];
  if (custom) return { ok: true, text, source: { kind: "remote", remote, server: custom.server, protocol: custom.protocol, alias }, isDefault: false };
  const remotes = standardRemotes(target);
  const standard = remotes[remote];
  const on = describeTarget(target);
  if (!standard) {
    const known = [...Object.keys(remotes), ...Object.keys(extra)].join(", ") || "none";
    const why = isIncus(target) ? lxdOnlyRemote(remote) : undefined;
    return refuse(why ? `${on} cannot build from it: ${why}` : `unknown remote "${remote}"; ${on}'s remotes are: ${known} (or give a local alias or fingerprint)`);
  }
  if (standard.refusal !== undefined) return refuse(`${on} cannot build from it: ${standard.refusal}`);
  return { ok: true, text, source: { kind: "remote", remote, server: standard.server, protocol: "simplestreams", alias }, isDefault: configured === undefined };
}

/** The nearest source this backend can use: the same Ubuntu release where there is one. */
function insteadOf(remote: string, alias: string, target: SourceTarget): string {
  const fallback = defaultSourceFor(target);
  if (isIncus(target)) {
    // ubuntu:24.04, ubuntu-daily:noble -> images:ubuntu/24.04, images:ubuntu/noble
    if (remote.startsWith("ubuntu") && /^[a-z0-9.]+$/.test(alias) && alias !== "lts") return `images:ubuntu/${alias}`;
    return fallback;
  }
  // images:ubuntu/24.04, images:ubuntu/noble/cloud -> ubuntu:24.04, ubuntu:noble
  const release = /^ubuntu\/([a-z0-9.]+)/.exec(alias)?.[1];
  return release ? `ubuntu:${release}` : fallback;
}

/** Resolves a source or throws with why this backend cannot use it and what to use instead. */
export function parseBuildSource(configured: string | undefined, target: SourceTarget, extra: Readonly<Record<string, ImageRemote>> = {}): BuildSource {
  const check = checkBuildSource(configured, target, extra);
  if (!check.ok) throw new Error(sourceRefusal(check));
  return check.source;
}

/** `image source "X": PROBLEM; use Y instead` */
export function sourceRefusal(check: Extract<SourceCheck, { ok: false }>): string {
  return `image source "${check.text}": ${check.problem}; use ${check.instead} instead`;
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
