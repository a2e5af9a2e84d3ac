// The typed, resolved configuration the rest of runnerd reads: every default applied, every
// duration in milliseconds, every cross-reference (pool -> connection) checked and filled in.

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

/** Where a pool's runners register. Names are as written in the file (GitHub matches them case-insensitively). */
export type Scope = RepoScope | OrgScope;

export interface RepoScope {
  readonly type: "repo";
  /** `owner/name`. */
  readonly repo: string;
}

export interface OrgScope {
  readonly type: "org";
  readonly org: string;
  /** Runner group the runners join; "Default" unless set. */
  readonly runner_group: string;
}

/** The part of a scope that identifies it (a token is minted per repo or org, not per runner group). */
export type ScopeRef = { readonly type: "repo"; readonly repo: string } | { readonly type: "org"; readonly org: string };

export interface LxdConfig {
  /** Unix socket path; when neither `socket` nor `url` is set, the LXD client auto-detects the socket. */
  readonly socket: string | undefined;
  /** HTTPS endpoint; when set, `client_cert` and `client_key` are set too and `socket` is not. */
  readonly url: string | undefined;
  readonly client_cert: string | undefined;
  readonly client_key: string | undefined;
  /** Server certificate to pin, if any. */
  readonly server_cert: string | undefined;
  readonly project: string;
  readonly storage_pool: string;
}

/**
 * A rule of the HTTPS token push: a caller whose verified OIDC claims match every listed claim
 * (each against one of its values, exactly) may push tokens for `scopes`.
 */
export interface OidcRule {
  readonly repository?: readonly string[];
  readonly repository_id?: readonly string[];
  readonly repository_owner?: readonly string[];
  readonly repository_owner_id?: readonly string[];
  readonly workflow_ref?: readonly string[];
  readonly job_workflow_ref?: readonly string[];
  readonly ref?: readonly string[];
  readonly event_name?: readonly string[];
  readonly environment?: readonly string[];
  /** Scope keys (scopeKey() form). */
  readonly scopes: readonly string[];
}

export interface OidcConfig {
  /** Exact `iss`; GitHub's Actions issuer for the connection unless set. */
  readonly issuer: string;
  /** Exact `aud` the workflow must request. */
  readonly audience: string;
  readonly allow: readonly OidcRule[];
}

/** How runnerd gets runner credentials for one connection. */
export type AuthConfig = PushAuth | AppAuth | PatAuth;

export interface PushAuth {
  readonly type: "push";
  /** HTTPS push authenticated by the workflow's OIDC token; undefined: not accepted. */
  readonly oidc: OidcConfig | undefined;
  /** SSH forced-command key names and the scope keys each may push for. */
  readonly ssh_keys: Readonly<Record<string, readonly string[]>>;
  /** A scope whose last push is older than this is reported late. */
  readonly late_after_ms: number;
}

export interface AppAuth {
  readonly type: "app";
  readonly app_id: number;
  readonly private_key_file: string;
}

export interface PatAuth {
  readonly type: "pat";
  readonly token_file: string;
}

export interface GitHubConnection {
  /** The key under `github:` in the file. */
  readonly name: string;
  /** Web URL without a trailing slash, e.g. `https://github.com`; runners register against it. */
  readonly url: string;
  /** REST API base URL without a trailing slash. */
  readonly api_url: string;
  readonly auth: AuthConfig;
  /** File holding the `workflow_job` webhook secret (0600), if webhooks are used. */
  readonly webhook_secret_file: string | undefined;
}

export interface InstanceConfig {
  readonly profiles: readonly string[];
  /** Docker-ready LXD settings (nesting, mknod and setxattr interception); on by default. */
  readonly docker: boolean;
  /** `security.idmap.isolated`: a uid/gid range of its own per instance. */
  readonly idmap_isolated: boolean;
  /** `limits.cpu` value (a count or a CPU set), if set. */
  readonly cpu: string | undefined;
  /** `limits.memory` value (LXD size string or percentage), if set. */
  readonly memory: string | undefined;
  /** Root disk size (LXD size string), if set. */
  readonly disk: string | undefined;
  /** Raw LXD config overrides; never contains `user.runnerd.*` keys. */
  readonly config: Readonly<Record<string, string>>;
  /** Raw LXD devices. */
  readonly devices: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface PoolConfig {
  readonly name: string;
  /** Name of an entry of `Config.github`; always exists. */
  readonly connection: string;
  readonly scope: Scope;
  /** Extra labels, in file order (GitHub adds `self-hosted`, OS and architecture itself). */
  readonly labels: readonly string[];
  /** Idle floor and ceiling; `max >= idle`. */
  readonly runners: { readonly idle: number; readonly max: number; readonly idle_timeout_ms: number };
  /** Higher wins when several pools fit a job. */
  readonly priority: number;
  /** Whether `self-hosted`, `linux` and the architecture are among the pool's labels. */
  readonly default_labels: boolean;
  /** LXD image alias or fingerprint runners are cloned from. */
  readonly image: string;
  /** Runner names are `<name_prefix>-<pool>-<random>` (see RUNNER_NAME_SUFFIX_LENGTH). */
  readonly name_prefix: string;
  readonly instance: InstanceConfig;
}

/** A runner image `runnerd image build NAME` makes, published as the LXD alias `runnerd/NAME`. */
export interface ImageConfig {
  readonly name: string;
  /** `remote:alias` from LXD's standard remotes (`images:`, `ubuntu:`), or a local alias or fingerprint. */
  readonly source: string;
  /** Connection whose API resolves runner releases; always exists. */
  readonly connection: string;
  readonly packages: readonly string[];
  readonly docker: boolean;
  readonly docker_compose: boolean;
  readonly runner: { readonly version: string; readonly arch: "x64" | "arm64" };
  readonly pre_pull: readonly string[];
  /** Host files copied into the image before the steps run. */
  readonly files: readonly { readonly source: string; readonly target: string }[];
  readonly steps: readonly string[];
  /** HTTP(S) proxy for apt and downloads inside the builder. */
  readonly proxy: string | undefined;
  readonly profiles: readonly string[];
  readonly auto_rebuild: boolean;
  readonly build_timeout_ms: number;
}

export interface Config {
  /** Recorded in `user.runnerd.*` keys; runnerd touches only instances carrying it. */
  readonly controller_id: string;
  readonly state_dir: string;
  /** Host-wide cap on runners across all pools. */
  readonly max_runners: number;
  readonly resync_interval_ms: number;
  /** A runner not listening after this long is deleted. */
  readonly boot_timeout_ms: number;
  readonly job_timeout_ms: number;
  /** Never start a runner with a registration token expiring sooner than this. */
  readonly token_min_validity_ms: number;
  /** How often the daemon looks for a new actions/runner release. */
  readonly runner_check_interval_ms: number;
  /** How often offline registrations left behind by app/pat runners are looked for and deleted. */
  readonly registration_sweep_interval_ms: number;
  /** app/pat: how often queued jobs are listed from GitHub (webhooks may be lost). */
  readonly job_recovery_interval_ms: number;
  /** Runner logs kept on the host: at most `count` runners and `max_mib` MiB. */
  readonly logs_retention: { readonly count: number; readonly max_mib: number };
  /** Bound on concurrent LXD actions. */
  readonly spawn_concurrency: number;
  readonly log_level: LogLevel;
  readonly lxd: LxdConfig;
  /** runnerd's HTTP server: token push, health (later: webhooks, metrics, status page). */
  readonly http: { readonly listen: string; readonly trust_proxy: boolean };
  /** Connections keyed by name; at least one. */
  readonly github: Readonly<Record<string, GitHubConnection>>;
  /** At least one, names unique. */
  readonly pools: readonly PoolConfig[];
  /** Runner images by name. */
  readonly images: Readonly<Record<string, ImageConfig>>;
}
