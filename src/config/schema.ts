// The config file's zod schema, and the one Config type derived from it. Leaf constraints,
// defaults and derived values live in the schema's parts (github-, pool- and image-schema.ts);
// rules across sections in checks.ts.
//
// Every field keeps its key's name. Durations are written "500ms", "15s", "5m", "6h" or as a
// number of seconds, and their Config fields hold milliseconds.
import { z } from "zod";
import { checkConfig } from "./checks.js";
import { absolutePath, always, duration, mapValues } from "./fields.js";
import type { DeepReadonly } from "./freeze.js";
import { connectionsSchema } from "./github-schema.js";
import { httpSchema } from "./http-schema.js";
import { imagesSchema } from "./image-schema.js";
import { poolSchema } from "./pool-schema.js";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;

const lxdSchema = z.strictObject({
  /** Unix socket path; with neither `socket` nor `url`, the LXD client auto-detects the socket. */
  socket: absolutePath.optional(),
  /** HTTPS endpoint; then `client_cert` and `client_key` are set too and `socket` is not (checks.ts). */
  url: z.url({ protocol: /^https$/, error: "must be an https:// URL" }).optional(),
  client_cert: absolutePath.optional(),
  client_key: absolutePath.optional(),
  /** Server certificate to pin, if any. */
  server_cert: absolutePath.optional(),
  project: z.string().min(1).default("default"),
  storage_pool: z.string().min(1).default("default"),
});

/** Only read when LXD or Incus is a cluster. */
const clusterSchema = z.strictObject({
  /** Runners at most on one member, across pools; no cap of its own unless set (max_runners still bounds the total). */
  max_runners_per_member: z.int().min(1).optional(),
  /** Runners on a member offline this long (after the server marked it offline) are written off and replaced. */
  member_offline_timeout: duration(30_000, { min: 5_000, max: 3_600_000 }),
});

const fileSchema = z.strictObject({
  /** Recorded in `user.runnerd.*` keys; runnerd touches only instances carrying it. */
  controller_id: z
    .string()
    .regex(/^[a-z0-9-]{1,32}$/, { error: "must be 1-32 lower-case letters, digits or '-'" })
    .default("runnerd"),
  state_dir: absolutePath.default("/var/lib/runnerd"),
  /** Host-wide cap on runners across all pools. */
  max_runners: z.int().min(1).default(10),
  resync_interval: duration(15_000, { min: 500, max: 3_600_000 }),
  /** A runner not listening after this long is deleted. */
  boot_timeout: duration(5 * 60_000),
  job_timeout: duration(6 * 3_600_000),
  /** Never start a runner with a registration token expiring sooner than this. */
  token_min_validity: duration(5 * 60_000, { max: 30 * 60_000 }),
  /** How often the daemon looks for a new actions/runner release. */
  runner_check_interval: duration(24 * 3_600_000, { min: 60_000 }),
  /** How often offline registrations left behind by app/pat runners are looked for and deleted. */
  registration_sweep_interval: duration(10 * 60_000, { min: 60_000 }),
  /** app/pat: how often queued jobs are listed from GitHub, to recover lost webhooks. */
  job_recovery_interval: duration(5 * 60_000, { min: 30_000 }),
  logs_retention: z
    .strictObject({
      /** Runners whose logs are kept on the host (newest first). */
      count: z.int().min(0).default(500),
      /** Upper bound on the logs directory, in MiB. */
      max_mib: z.int().min(1).default(2048),
      /** A runner's log bundle is kept up to this many MiB; the rest is not read (a job can write any amount). */
      max_runner_mib: z.int().min(1).max(4096).default(64),
    })
    .prefault({}),
  /** Bound on concurrent spawns (create, push, start). */
  spawn_concurrency: z.int().min(1).default(4),
  /** Bound on concurrent collections and deletions, apart from spawns so they never wait behind them. */
  collect_concurrency: z.int().min(1).default(8),
  /** SIGTERM: the daemon exits within this, aborting LXD calls still in flight halfway through (daemon/shutdown.ts). */
  shutdown_timeout: duration(20_000, { min: 1_000, max: 10 * 60_000 }),
  log_level: z.enum(LOG_LEVELS).default("info"),
  lxd: lxdSchema.prefault({}),
  cluster: clusterSchema.prefault({}),
  /** runnerd's HTTP server: token push, webhooks, metrics, status page, health. */
  http: httpSchema,
  /** At least one (checks.ts). */
  github: connectionsSchema,
  images: imagesSchema,
  /** Names unique (checks.ts). */
  pools: z.array(poolSchema).min(1, { error: "at least one pool is required" }),
});

/** The whole file: shape, cross-field rules (run even when other fields failed, so all problems surface), defaults across sections. */
export const configSchema = fileSchema.superRefine(checkConfig, always).transform((file) => {
  // A pool may leave its connection out only when there is one (checks.ts); an image takes the first.
  const first = Object.keys(file.github)[0] ?? "";
  return {
    ...file,
    pools: file.pools.map((pool) => ({ ...pool, connection: pool.connection ?? first })),
    images: mapValues(file.images, (image) => ({ ...image, connection: image.connection ?? first })),
  };
});

/** The typed, resolved configuration the rest of runnerd reads; deeply frozen. */
export type Config = DeepReadonly<z.output<typeof configSchema>>;
export type LogLevel = Config["log_level"];
export type LxdConfig = Config["lxd"];
export type GitHubConnection = Config["github"][string];
export type AuthConfig = GitHubConnection["auth"];
export type PushAuth = Extract<AuthConfig, { type: "push" }>;
export type AppAuth = Extract<AuthConfig, { type: "app" }>;
export type PatAuth = Extract<AuthConfig, { type: "pat" }>;
export type OidcConfig = NonNullable<PushAuth["oidc"]>;
export type OidcRule = OidcConfig["allow"][number];
export type PoolConfig = Config["pools"][number];
export type Scope = PoolConfig["scope"];
export type RepoScope = Extract<Scope, { type: "repo" }>;
export type OrgScope = Extract<Scope, { type: "org" }>;
export type InstanceConfig = PoolConfig["instance"];
export type ImageConfig = Config["images"][string];
export type HttpConfig = Config["http"];
