// Runner images: building them from the config's `images:` section, listing and removing them,
// and knowing how current their actions/runner is.
import { join } from "node:path";
import type { Config } from "../config/index.js";
import { ConfigError } from "../errors.js";
import type { LxdClient } from "../lxd/index.js";
import { buildImage, type BuildOptions, type BuildResult } from "./builder.js";

export { BuildFailed, BUILDER_KEY, builderProxy } from "./builder.js";
export type { BuildResult } from "./builder.js";
export { DOCKER_READY_CONFIG } from "./docker-ready.js";
export { findImageToRemove, listRunnerImages, poolImageTargets, resolveImage } from "./inventory.js";
export type { ImageEntry } from "./inventory.js";
export { propertyKeys } from "./properties.js";
export { runnerFreshness } from "./runner-freshness.js";
export type { Freshness, FreshnessLevel } from "./runner-freshness.js";
export { listRunnerReleases, resolveRunnerRelease, compareVersions } from "./runner-release.js";
export type { ReleaseSummary, RunnerRelease } from "./runner-release.js";
export { checkBuildSource, defaultSourceFor, describeTarget, imageAlias, parseBuildSource, sourceRefusal, standardRemotes } from "./source.js";
export type { BuildSource, ImageRemote, SourceCheck, SourceTarget } from "./source.js";

/** Where runnerd keeps downloaded runner tarballs. */
export function cacheDir(config: Config): string {
  return join(config.state_dir, "cache");
}

/** The API a configured image looks runner releases up in. */
export function releaseApiUrl(config: Config, imageName: string): string {
  const image = config.images[imageName];
  const connection = image ? config.github[image.connection] : undefined;
  if (!connection) throw new ConfigError(`image ${imageName}: no GitHub connection to look up runner releases`);
  return connection.api_url;
}

export function buildConfiguredImage(
  lxd: LxdClient,
  config: Config,
  name: string,
  opts: Pick<BuildOptions, "ifChanged" | "keepFailedBuilder" | "signal" | "progress" | "remotes">,
): Promise<BuildResult> {
  const image = config.images[name];
  if (!image) {
    const known = Object.keys(config.images);
    throw new ConfigError(`image build: no image "${name}" under images: in the configuration${known.length ? ` (configured: ${known.join(", ")})` : ""}`);
  }
  return buildImage(lxd, { ...opts, image, apiUrl: releaseApiUrl(config, name), storagePool: config.lxd.storage_pool, cacheDir: cacheDir(config) });
}
