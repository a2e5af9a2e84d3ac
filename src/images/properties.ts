// The LXD image properties runnerd writes when it publishes an image, and reads back for
// `image list`, the runner-version check and `--if-changed`.
import type { ImageConfig } from "../config/index.js";
import type { RunnerRelease } from "./runner-release.js";

export const propertyKeys = {
  name: "runnerd.image_name",
  runnerVersion: "runnerd.runner_version",
  recipe: "runnerd.recipe",
  builtAt: "runnerd.built_at",
  source: "runnerd.source",
  sourceFingerprint: "runnerd.source_fingerprint",
  docker: "runnerd.docker",
} as const;

export function imageProperties(input: { image: ImageConfig; release: RunnerRelease; recipe: string; sourceFingerprint: string; builtAt: Date }): Record<string, string> {
  return {
    description: `runnerd ${input.image.name}: actions/runner ${input.release.version}${input.image.docker ? ", Docker" : ""} (from ${input.image.source})`,
    [propertyKeys.name]: input.image.name,
    [propertyKeys.runnerVersion]: input.release.version,
    [propertyKeys.recipe]: input.recipe,
    [propertyKeys.builtAt]: input.builtAt.toISOString(),
    // The builder passes the source it resolved (the backend's default when the config has none).
    [propertyKeys.source]: input.image.source ?? "",
    [propertyKeys.sourceFingerprint]: input.sourceFingerprint,
    [propertyKeys.docker]: String(input.image.docker),
  };
}
