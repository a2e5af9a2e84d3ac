// The daemon's runner-release check: every `runner_check_interval`, look up actions/runner's
// releases, compare each configured image's runner with them, warn (loudly near GitHub's 30-day
// window), and rebuild the images that have `auto_rebuild` on. Pools follow the moved alias.
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

  private async run(): Promise<void> {
    const config = this.deps.config();
    const releasesByApi = new Map<string, Promise<ReleaseSummary[]>>();
    const reports: ImageReport[] = [];
    for (const image of Object.values(config.images)) {
      const apiUrl = releaseApiUrl(config, image.name);
      let releases = releasesByApi.get(apiUrl);
      if (!releases) {
        releases = listRunnerReleases({ apiUrl });
        releasesByApi.set(apiUrl, releases);
      }
      let report = await this.checkImage(image.name, releases);
      if (this.stopped) return;
      if (config.images[image.name]?.auto_rebuild && shouldRebuild(report) && (await this.rebuild(image.name))) {
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

  /** True when a new image was published. */
  private async rebuild(name: string): Promise<boolean> {
    const log = this.deps.logger.child({ image: name });
    log.info({}, "auto_rebuild: building a new image with the latest actions/runner");
    const at = new Date(this.deps.now()).toISOString();
    try {
      const result = await buildConfiguredImage(this.deps.lxd, this.deps.config(), name, {
        ifChanged: true,
        signal: this.abort.signal,
        progress: (text) => {
          for (const line of text.split("\n")) if (line.trim() !== "") log.debug({ build: line }, "build output");
        },
      });
      const message = `built ${result.alias} -> ${result.image.fingerprint.slice(0, 12)} with actions/runner ${result.runnerVersion} in ${Math.round(result.durationMs / 1000)} s; pools roll to it`;
      log.info({}, message);
      this.deps.addEvent({ level: "info", kind: "image-built", message });
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

function shouldRebuild(report: ImageReport): boolean {
  return report.level === "behind" || report.level === "critical" || report.level === "expired" || report.level === "missing";
}
