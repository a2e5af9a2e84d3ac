// How far an image's actions/runner is behind. GitHub stops sending jobs to a runner that
// runs with --disableupdate once its version has been superseded for 30 days, so runnerd warns
// as soon as a newer release exists, and loudly in the last week of that window.
import { compareVersions, type ReleaseSummary } from "./runner-release.js";

export const UPDATE_WINDOW_DAYS = 30;
/** Days before the end of the window when a warning becomes critical. */
export const CRITICAL_DAYS_LEFT = 7;
const DAY_MS = 86_400_000;

export type FreshnessLevel = "current" | "behind" | "critical" | "expired" | "unknown";

export interface Freshness {
  level: FreshnessLevel;
  imageVersion: string;
  latest: string | undefined;
  /** When the first newer release came out (the window's start). */
  supersededAt?: Date;
  /** When GitHub stops accepting this version. */
  deadline?: Date;
  daysLeft?: number;
  message: string;
}

/** `releases` in any order; `now` in ms since the epoch. */
export function runnerFreshness(imageVersion: string, releases: readonly ReleaseSummary[], now: number): Freshness {
  const newer = releases.filter((r) => compareVersions(r.version, imageVersion) > 0);
  const latest = [...releases].sort((a, b) => compareVersions(b.version, a.version))[0]?.version;
  if (latest === undefined) return { level: "unknown", imageVersion, latest, message: "no actions/runner release information yet" };
  if (newer.length === 0) return { level: "current", imageVersion, latest, message: `actions/runner ${imageVersion} is the newest release` };

  const dated = newer.filter((r) => r.publishedAt !== undefined).map((r) => r.publishedAt as Date);
  if (dated.length === 0) {
    return { level: "behind", imageVersion, latest, message: `actions/runner ${imageVersion} is older than ${latest}; rebuild the image` };
  }
  const supersededAt = new Date(Math.min(...dated.map((d) => d.getTime())));
  const deadline = new Date(supersededAt.getTime() + UPDATE_WINDOW_DAYS * DAY_MS);
  const daysLeft = Math.floor((deadline.getTime() - now) / DAY_MS);
  const base = { imageVersion, latest, supersededAt, deadline, daysLeft };
  if (now >= deadline.getTime()) {
    return { ...base, level: "expired", message: `actions/runner ${imageVersion} was superseded on ${day(supersededAt)}; GitHub no longer accepts it since ${day(deadline)}: rebuild the image now (latest ${latest})` };
  }
  if (daysLeft < CRITICAL_DAYS_LEFT) {
    return { ...base, level: "critical", message: `actions/runner ${imageVersion} stops working on ${day(deadline)} (${daysLeft} days left): rebuild the image (latest ${latest})` };
  }
  return { ...base, level: "behind", message: `actions/runner ${imageVersion} is older than ${latest}; GitHub accepts it until ${day(deadline)} (${daysLeft} days left)` };
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
