// The config file's zod schema: shapes, leaf constraints and defaults; cross-field rules live in
// checks.ts and the resolution into the typed Config in resolve.ts.
import { z } from "zod";
import { parseDuration } from "./duration.js";
import { checkConfig } from "./checks.js";
import { resolveConfig } from "./resolve.js";
import { OWNER_PATTERN, REPO_PATTERN, parseScopeKey, scopeKey } from "./scope.js";
export { IMAGE_NAME_PATTERN } from "./image-names.js";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
export const AUTH_TYPES = ["push", "app", "pat"] as const;

const absolutePath = z.string().startsWith("/", { error: "must be an absolute path" });

function duration(fallback: number) {
  return z
    .unknown()
    .transform((value, ctx) => {
      const ms = typeof value === "string" || typeof value === "number" ? parseDuration(value) : undefined;
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({
          code: "custom",
          input: value,
          message: `invalid duration ${JSON.stringify(value)}: use e.g. "500ms", "15s", "5m", "6h" or a number of seconds`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .default(fallback);
}

// LXD takes every config value as a string; YAML's `true` or `2` mean the same thing to the
// operator, so scalars are accepted and stringified rather than rejected.
const lxdValue = z
  .union([z.string(), z.number(), z.boolean()], { error: "must be a string (or number or boolean)" })
  .transform(String);

const sizePattern = /^\d+(\.\d+)?(B|kB|MB|GB|TB|PB|EB|KiB|MiB|GiB|TiB|PiB|EiB)?$/;
const lxdSize = z.string().regex(sizePattern, { error: 'must be an LXD size such as "512MiB", "4GiB" or "20GB"' });
const memory = z
  .string()
  .regex(new RegExp(`${sizePattern.source}|^\\d{1,3}%$`), { error: 'must be an LXD size such as "4GiB", or a percentage such as "50%"' });
const cpu = z
  .union([z.int().min(1), z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/)], {
    error: 'must be a number of CPUs or a CPU set such as "0-3" or "0,2"',
  })
  .transform(String);

const lxdSchema = z.strictObject({
  socket: absolutePath.optional(),
  url: z.url({ protocol: /^https$/, error: "must be an https:// URL" }).optional(),
  client_cert: absolutePath.optional(),
  client_key: absolutePath.optional(),
  server_cert: absolutePath.optional(),
  project: z.string().min(1).default("default"),
  storage_pool: z.string().min(1).default("default"),
});

/** A scope key as the CLI writes it (`repo:owner/name`, `org:name`), normalised to scopeKey() form. */
const scopeKeyString = z.string().transform((value, ctx) => {
  try {
    return scopeKey(parseScopeKey(value));
  } catch (err) {
    ctx.addIssue({ code: "custom", input: value, message: (err as Error).message });
    return z.NEVER;
  }
});

/** One claim value or a list of them; a rule matches when the token's claim equals one exactly. */
const claimValues = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: "must be a string or a list of strings" })
  .transform((v) => (Array.isArray(v) ? v : [v]));

/** Claims of GitHub's Actions OIDC token a rule may constrain (all given ones must match). */
export const OIDC_RULE_CLAIMS = ["repository", "repository_id", "repository_owner", "repository_owner_id", "workflow_ref", "job_workflow_ref", "ref", "event_name", "environment"] as const;

const oidcRuleSchema = z.strictObject({
  ...Object.fromEntries(OIDC_RULE_CLAIMS.map((claim) => [claim, claimValues.optional()])) as Record<(typeof OIDC_RULE_CLAIMS)[number], z.ZodOptional<typeof claimValues>>,
  scopes: z.array(scopeKeyString).min(1, { error: "list at least one scope this caller may push for" }),
});

const oidcSchema = z.strictObject({
  /** Defaults to GitHub's issuer for the connection's url (checked in resolve.ts). */
  issuer: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
  audience: z.string().min(1),
  allow: z.array(oidcRuleSchema).min(1, { error: "at least one rule is required" }),
});

const sshKeyName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: "key names are letters, digits, '.', '_' or '-'" });

const authSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({
      type: z.literal("push"),
      oidc: oidcSchema.optional(),
      ssh_keys: z.record(sshKeyName, z.array(scopeKeyString).min(1)).default({}),
      late_after: duration(45 * 60_000),
    }),
    z.strictObject({ type: z.literal("app"), app_id: z.int().min(1), private_key_file: absolutePath }),
    z.strictObject({ type: z.literal("pat"), token_file: absolutePath }),
  ],
  {
    error: (issue) =>
      issue.code === "invalid_union"
        ? `auth type must be one of: ${AUTH_TYPES.join(", ")}`
        : undefined,
  },
);

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

const connectionSchema = z.strictObject({
  url: httpUrl.default("https://github.com"),
  api_url: httpUrl.optional(),
  auth: authSchema,
  /** Secret of the `workflow_job` webhook (0600 file); webhooks are refused without one. */
  webhook_secret_file: absolutePath.optional(),
});

const scopeSchema = z.strictObject({
  repo: z.string().regex(REPO_PATTERN, { error: 'must be "owner/name"' }).optional(),
  org: z.string().regex(OWNER_PATTERN, { error: "must be a GitHub organisation name" }).optional(),
  runner_group: z.string().min(1).optional(),
});

const label = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "labels are 1-64 letters, digits, '.', '_' or '-'" });

const instanceSchema = z.strictObject({
  profiles: z.array(z.string().min(1)).default(["default"]),
  docker: z.boolean().default(true),
  idmap_isolated: z.boolean().default(false),
  cpu: cpu.optional(),
  memory: memory.optional(),
  disk: lxdSize.optional(),
  config: z.record(z.string(), lxdValue).default({}),
  devices: z.record(z.string(), z.record(z.string(), lxdValue)).default({}),
});

const poolSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,19}$/, {
    error: "must be 1-20 lower-case letters, digits or '-', not starting with '-'",
  }),
  connection: z.string().optional(),
  scope: scopeSchema,
  labels: z.array(label).default([]),
  runners: z
    .strictObject({
      idle: z.int().min(0).default(1),
      max: z.int().min(0).optional(),
      /** Runners above the floor that stay idle this long are removed. */
      idle_timeout: duration(5 * 60_000),
    })
    .prefault({}),
  /** When several pools fit a job's labels, the highest priority wins, then the most free capacity. */
  priority: z.int().default(0),
  /** `self-hosted`, `linux` and the architecture count as the pool's labels for matching jobs. */
  default_labels: z.boolean().default(true),
  image: z.string().min(1),
  name_prefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/, { error: "must be 1-40 lower-case letters, digits or '-', starting with a letter" })
    .default("rd"),
  instance: instanceSchema.prefault({}),
});

/** What `runnerd image build` starts from unless an image says otherwise. */
export const DEFAULT_IMAGE_SOURCE = "images:ubuntu/24.04";
/** A few of the tools every hosted runner has and most workflows assume. */
export const DEFAULT_IMAGE_PACKAGES = ["git", "curl", "jq", "unzip", "zip", "xz-utils", "openssh-client"];

const imageSchema = z.strictObject({
  source: z.string().min(1).default(DEFAULT_IMAGE_SOURCE),
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
  files: z.array(z.strictObject({ source: absolutePath, target: absolutePath })).default([]),
  steps: z.array(z.string().min(1)).default([]),
  proxy: httpUrl.optional(),
  profiles: z.array(z.string().min(1)).default(["default"]),
  auto_rebuild: z.boolean().default(false),
  build_timeout: duration(45 * 60_000),
});

export const rawConfigSchema = z.strictObject({
  controller_id: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/, { error: "must be 1-32 lower-case letters, digits or '-'" })
    .default("runnerd"),
  state_dir: absolutePath.default("/var/lib/runnerd"),
  max_runners: z.int().min(1).default(10),
  resync_interval: duration(15_000),
  boot_timeout: duration(5 * 60_000),
  job_timeout: duration(6 * 3_600_000),
  token_min_validity: duration(5 * 60_000),
  runner_check_interval: duration(24 * 3_600_000),
  registration_sweep_interval: duration(10 * 60_000),
  /** app/pat: how often queued jobs are listed from GitHub, to recover lost webhooks. */
  job_recovery_interval: duration(5 * 60_000),
  logs_retention: z
    .strictObject({
      /** Runners whose logs are kept on the host (newest first). */
      count: z.int().min(0).default(500),
      /** Upper bound on the logs directory, in MiB. */
      max_mib: z.int().min(1).default(2048),
    })
    .prefault({}),
  spawn_concurrency: z.int().min(1).default(4),
  log_level: z.enum(LOG_LEVELS).default("info"),
  lxd: lxdSchema.prefault({}),
  http: z
    .strictObject({
      listen: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be "host:port", e.g. "127.0.0.1:8780" (port 0: any free port)' }).default("127.0.0.1:8780"),
      trust_proxy: z.boolean().default(false),
    })
    .prefault({}),
  github: z.record(
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, { error: "connection names are letters, digits, '_' or '-'" }),
    connectionSchema,
  ),
  // Names are checked in checks.ts: zod reports a bad record key only as "Invalid key in record".
  images: z.record(z.string(), imageSchema).default({}),
  pools: z.array(poolSchema).min(1, { error: "at least one pool is required" }),
});

export type RawConfig = z.output<typeof rawConfigSchema>;

/** The whole file: shape, cross-field rules (run even when other fields failed, so all problems surface), resolution. */
export const configSchema = rawConfigSchema
  .superRefine(checkConfig, { when: (payload) => typeof payload.value === "object" && payload.value !== null })
  .transform(resolveConfig);
