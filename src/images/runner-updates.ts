// The daemon's runner-release check: every `runner_check_interval`, look up actions/runner's
// releases, compare each configured image's runner with them, warn (loudly near GitHub's 30-day
// window), and rebuild the images that have `auto_rebuild` on. Pools follow the moved alias.
// The reconciler asks for a check out of turn when its runners show an image is out of date: a
// runner that updated itself (`checkSoon`), or one GitHub refused as deprecated (`rebuildNow`).
// Both share the periodic check's single flight, so one image is never built twice at once.
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { describeError } from "../errors.js";
import {
  buildConfiguredImage,
  imageAlias,
  listRunnerReleases,
  propertyKeys,
  releaseApiUrl,
  runnerFreshness,
  type FreshnessLevel,
  type ReleaseSummary,
} from "./index.js";
import type { LxdClient } from "../lxd/index.js";
import { PeriodicTask } from "../schedule/periodic-task.js";

/** `checkSoon` looks at the releases at most this often. */
const checkSoonGapMs = 15 * 60_000;

export interface ImageReport {
  name: string;
  alias: string;
  fingerprint: string | null;
  runnerVersion: string | null;
  latest: string | null;
  level: FreshnessLevel | "missing";
  message: string;
  deadline: string | null;
  checkedAt: string;
  lastBuild?: { at: string; ok: boolean; message: string };
}

export interface RunnerUpdateDeps {
  lxd: LxdClient;
  logger: Logger;
  config: () => Config;
  now: () => number;
  addEvent: (event: { level: "info" | "warn" | "error"; kind: string; message: string }) => void;
  /** Called after each check (the daemon writes status.json). */
  onReport?: () => void;
}

export class RunnerUpdateWatcher {
  private reports: ImageReport[] = [];
  private readonly lastBuild = new Map<string, ImageReport["lastBuild"]>();
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly task = new PeriodicTask(() => this.run(), () => this.deps.config().runner_check_interval);
  /** Image name -> why a rebuild was asked for out of turn, until a check takes it. */
  private readonly forced = new Map<string, string>();
  /** Image name -> the runner version its last out-of-turn rebuild was for. */
  private readonly forcedFor = new Map<string, string | null>();
  private lastRunAt: number | undefined;

  constructor(private readonly deps: RunnerUpdateDeps) {}

  /** First check soon after start (not at once: the daemon's first passes come first). */
  start(firstDelayMs = 10_000): void {
    if (Object.keys(this.deps.config().images).length === 0) return;
    this.task.start(firstDelayMs);
  }

  status(): ImageReport[] {
    return this.reports;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.task.stop();
  }

  /** One check now; concurrent calls share it. */
  check(): Promise<void> {
    return this.task.run();
  }

  /**
   * Rebuilds `name` with the newest actions/runner now (GitHub refused its runner version), if it
   * has `auto_rebuild`; once per runner version: a second refused runner of the same image, or a
   * failed build, does not start another (the periodic check still retries an image behind).
   * Resolves when the check that took the request is over.
   */
  async rebuildNow(name: string, reason: string): Promise<void> {
    if (this.stopped || !this.deps.config().images[name]?.auto_rebuild) return;
    this.forced.set(name, reason);
    await this.task.run();
    // The run under way may have passed this image before the request came: one more takes it.
    if (this.forced.has(name) && !this.stopped) await this.task.run();
  }

  /**
   * A check soon (a runner of `name` updated itself: the image is behind), at most once per
   * `checkSoonGapMs` however many runners report it: the releases API is rate-limited.
   */
  async checkSoon(name: string, reason: string): Promise<void> {
    const now = this.deps.now();
    if (this.stopped || (this.lastRunAt !== undefined && now - this.lastRunAt < checkSoonGapMs)) return;
    this.deps.logger.info({ image: name, reason }, "checking actions/runner releases out of turn");
    await this.task.run();
  }

  private async run(): Promise<void> {
    this.lastRunAt = this.deps.now();
    const config = this.deps.config();
    for (const name of this.forced.keys()) if (!config.images[name]) this.forced.delete(name);
    const releasesByApi = new Map<string, Promise<ReleaseSummary[]>>();
    const reports: ImageReport[] = [];
    for (const image of Object.values(config.images)) {
      const apiUrl = releaseApiUrl(config, image.name);
      let releases = releasesByApi.get(apiUrl);
      if (!releases) {
        releases = listRunnerReleases({ apiUrl });
        releasesByApi.set(apiUrl, releases);
      }
      const forced = this.forced.get(image.name);
      this.forced.delete(image.name);
      let report = await this.checkImage(image.name, releases);
      if (this.stopped) return;
      if (config.images[image.name]?.auto_rebuild && this.wantsRebuild(report, forced) && (await this.rebuild(image.name, forced))) {
        report = await this.checkImage(image.name, releases);
      }
      reports.push(report);
    }
    this.reports = reports;
    this.deps.onReport?.();
  }

  private async checkImage(name: string, releases: Promise<ReleaseSummary[]>): Promise<ImageReport> {
    const alias = imageAlias(name);
    const checkedAt = new Date(this.deps.now()).toISOString();
    const base = { name, alias, checkedAt, ...(this.lastBuild.has(name) ? { lastBuild: this.lastBuild.get(name) } : {}) };
    const target = await this.deps.lxd.getImageAlias(alias).catch(() => null);
    const image = target ? await this.deps.lxd.getImage(target.target).catch(() => null) : null;
    const version = image?.properties[propertyKeys.runnerVersion] ?? null;
    let list: ReleaseSummary[];
    try {
      list = await releases;
    } catch (err) {
      const message = `cannot look up actions/runner releases: ${describeError(err)}`;
      this.deps.logger.warn({ image: name }, message);
      return { ...base, fingerprint: image?.fingerprint ?? null, runnerVersion: version, latest: null, level: "unknown", message, deadline: null };
    }
    const latest = list[0]?.version ?? null;
    if (!image || version === null) {
      const message = `${alias} is not built yet: runnerd image build ${name}`;
      this.deps.logger.warn({ image: name }, message);
      return { ...base, fingerprint: image?.fingerprint ?? null, runnerVersion: version, latest, level: "missing", message, deadline: null };
    }
    const f = runnerFreshness(version, list, this.deps.now());
    const fields = { image: name, runnerVersion: version, latest, daysLeft: f.daysLeft };
    if (f.level === "expired" || f.level === "critical") this.deps.logger.error(fields, f.message);
    else if (f.level === "behind") this.deps.logger.warn(fields, f.message);
    else this.deps.logger.info(fields, f.message);
    if (f.level !== "current") this.deps.addEvent({ level: f.level === "behind" ? "warn" : "error", kind: "runner-outdated", message: `${alias}: ${f.message}` });
    return { ...base, fingerprint: image.fingerprint, runnerVersion: version, latest, level: f.level, message: f.message, deadline: f.deadline?.toISOString() ?? null };
  }

  /** Applies rebuildDecision, remembering the version a forced rebuild was made for. */
  private wantsRebuild(report: ImageReport, forced: string | undefined): boolean {
    const decision = rebuildDecision(report, forced !== undefined, this.forcedFor.has(report.name) ? { version: this.forcedFor.get(report.name) ?? null } : undefined);
    if (forced !== undefined) this.forcedFor.set(report.name, report.runnerVersion);
    if (decision === "already-forced") this.deps.logger.info({ image: report.name, runnerVersion: report.runnerVersion, reason: forced }, "a rebuild for this runner version was made already; not again");
    return decision === "rebuild";
  }

  /** True when a new image was published. `forced`: why it was asked for out of turn. */
  private async rebuild(name: string, forced?: string): Promise<boolean> {
    const log = this.deps.logger.child({ image: name });
    log.info(forced ? { reason: forced } : {}, "auto_rebuild: building a new image with the latest actions/runner");
    const at = new Date(this.deps.now()).toISOString();
    try {
      const result = await buildConfiguredImage(this.deps.lxd, this.deps.config(), name, {
        ifChanged: true,
        signal: this.abort.signal,
        progress: (text) => {
          for (const line of text.split("\n")) if (line.trim() !== "") log.debug({ build: line }, "build output");
        },
      });
      const message = result.built
        ? `built ${result.alias} -> ${result.image.fingerprint.slice(0, 12)} with actions/runner ${result.runnerVersion} in ${Math.round(result.durationMs / 1000)} s; pools roll to it`
        : `${result.alias} is already built from its recipe (actions/runner ${result.runnerVersion}); nothing to rebuild${forced ? ": if GitHub refuses that version, raise images.<name>.runner.version" : ""}`;
      log.info({}, message);
      this.deps.addEvent({ level: result.built || !forced ? "info" : "warn", kind: result.built ? "image-built" : "image-unchanged", message });
      this.lastBuild.set(name, { at, ok: true, message });
      return result.built;
    } catch (err) {
      const message = `auto_rebuild of ${imageAlias(name)} failed: ${describeError(err)}`;
      log.error({}, message);
      this.deps.addEvent({ level: "error", kind: "image-build-failed", message });
      this.lastBuild.set(name, { at, ok: false, message });
      return false;
    }
  }
}

/**
 * Whether a check rebuilds an image (with auto_rebuild): when it is behind the releases (or
 * missing), and when a rebuild was asked for out of turn (`forced`: GitHub refused its runner
 * version) unless one was made for the runner version it holds already (`lastForced`).
 */
export function rebuildDecision(report: Pick<ImageReport, "level" | "runnerVersion">, forced: boolean, lastForced: { version: string | null } | undefined): "rebuild" | "keep" | "already-forced" {
  if (shouldRebuild(report)) return "rebuild";
  if (!forced) return "keep";
  return lastForced !== undefined && lastForced.version === report.runnerVersion ? "already-forced" : "rebuild";
}

function shouldRebuild(report: Pick<ImageReport, "level">): boolean {
  return report.level === "behind" || report.level === "critical" || report.level === "expired" || report.level === "missing";
}
