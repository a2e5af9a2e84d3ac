// The `images:` section: runner images `runnerd image build NAME` makes, published as the LXD
// alias `runnerd/NAME`. Each carries its key as `name`.
import { z } from "zod";
import { absolutePath, duration, httpUrl, withNames } from "./fields.js";

/** A few of the tools every hosted runner has and most workflows assume. */
export const DEFAULT_IMAGE_PACKAGES = ["git", "curl", "jq", "unzip", "zip", "xz-utils", "openssh-client"];

const imageSchema = z.strictObject({
  /**
   * `remote:alias` from the backend's standard remotes (`ubuntu:` on LXD, `images:`), or a local
   * alias or fingerprint. Unset: a source the backend found at build time can use (images/remotes.ts:
   * `ubuntu:24.04` on LXD, `images:ubuntu/24.04` on Incus).
   */
  source: z.string().min(1).optional(),
  /** Connection whose API resolves runner releases; the first one unless set (schema.ts). */
  connection: z.string().optional(),
  packages: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$/, { error: 'must be a package name, optionally "name=version"' }))
    .default(DEFAULT_IMAGE_PACKAGES),
  docker: z.boolean().default(true),
  docker_compose: z.boolean().default(true),
  runner: z
    .strictObject({
      version: z.string().regex(/^(latest|\d+\.\d+\.\d+)$/, { error: 'must be "latest" or a version such as "2.329.0"' }).default("latest"),
      arch: z.enum(["x64", "arm64"]).default("x64"),
    })
    .prefault({}),
  pre_pull: z.array(z.string().regex(/^[a-z0-9][a-zA-Z0-9._/:@-]*$/, { error: "must be a Docker image reference" })).default([]),
  /** Host files copied into the image before the steps run. */
  files: z.array(z.strictObject({ source: absolutePath, target: absolutePath })).default([]),
  steps: z.array(z.string().min(1)).default([]),
  /** HTTP(S) proxy for apt and downloads inside the builder. */
  proxy: httpUrl.optional(),
  profiles: z.array(z.string().min(1)).default(["default"]),
  auto_rebuild: z.boolean().default(false),
  build_timeout: duration(45 * 60_000),
});

// Names are checked in checks.ts: zod reports a bad record key only as "Invalid key in record".
export const imagesSchema = z.record(z.string(), imageSchema).transform(withNames).default({});
