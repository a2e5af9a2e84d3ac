// Turns the validated file into the typed Config: fills derived defaults (API URL, a pool's
// connection, runners.max) and gives durations their millisecond names.
import type { AuthConfig, Config, GitHubConnection, ImageConfig, PoolConfig, Scope } from "./types.js";
import type { RawConfig } from "./schema.js";

type RawPool = RawConfig["pools"][number];

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** github.com's API lives on its own host; GitHub Enterprise Server serves it under /api/v3. */
export function defaultApiUrl(webUrl: string): string {
  const url = new URL(webUrl);
  return url.hostname === "github.com" || url.hostname === "www.github.com"
    ? "https://api.github.com"
    : `${trimSlash(webUrl)}/api/v3`;
}

/** The `iss` of GitHub Actions OIDC tokens: one issuer for github.com, `/_services/token` on GHES. */
export function defaultOidcIssuer(webUrl: string): string {
  const url = new URL(webUrl);
  return url.hostname === "github.com" || url.hostname === "www.github.com"
    ? "https://token.actions.githubusercontent.com"
    : `${trimSlash(webUrl)}/_services/token`;
}

function resolveAuth(auth: RawConfig["github"][string]["auth"], webUrl: string): AuthConfig {
  if (auth.type !== "push") return auth;
  return {
    type: "push",
    oidc: auth.oidc ? { issuer: trimSlash(auth.oidc.issuer ?? defaultOidcIssuer(webUrl)), audience: auth.oidc.audience, allow: auth.oidc.allow } : undefined,
    ssh_keys: auth.ssh_keys,
    late_after_ms: auth.late_after,
  };
}

export function resolveConfig(raw: RawConfig): Config {
  const github: Record<string, GitHubConnection> = {};
  for (const [name, connection] of Object.entries(raw.github)) {
    github[name] = {
      name,
      url: trimSlash(connection.url),
      api_url: trimSlash(connection.api_url ?? defaultApiUrl(connection.url)),
      auth: resolveAuth(connection.auth, connection.url),
      webhook_secret_file: connection.webhook_secret_file,
    };
  }
  const onlyConnection = Object.keys(github)[0] ?? "";
  return {
    controller_id: raw.controller_id,
    state_dir: raw.state_dir,
    max_runners: raw.max_runners,
    resync_interval_ms: raw.resync_interval,
    boot_timeout_ms: raw.boot_timeout,
    job_timeout_ms: raw.job_timeout,
    token_min_validity_ms: raw.token_min_validity,
    runner_check_interval_ms: raw.runner_check_interval,
    registration_sweep_interval_ms: raw.registration_sweep_interval,
    job_recovery_interval_ms: raw.job_recovery_interval,
    logs_retention: { count: raw.logs_retention.count, max_mib: raw.logs_retention.max_mib },
    spawn_concurrency: raw.spawn_concurrency,
    log_level: raw.log_level,
    lxd: {
      socket: raw.lxd.socket,
      url: raw.lxd.url,
      client_cert: raw.lxd.client_cert,
      client_key: raw.lxd.client_key,
      server_cert: raw.lxd.server_cert,
      project: raw.lxd.project,
      storage_pool: raw.lxd.storage_pool,
    },
    http: { listen: raw.http.listen, trust_proxy: raw.http.trust_proxy },
    github,
    pools: raw.pools.map((pool) => resolvePool(pool, onlyConnection)),
    images: Object.fromEntries(Object.entries(raw.images).map(([name, image]) => [name, resolveImage(name, image, onlyConnection)])),
  };
}

function resolveImage(name: string, image: RawConfig["images"][string], firstConnection: string): ImageConfig {
  return {
    name,
    source: image.source,
    connection: image.connection ?? firstConnection,
    packages: image.packages,
    docker: image.docker,
    docker_compose: image.docker_compose,
    runner: image.runner,
    pre_pull: image.pre_pull,
    files: image.files,
    steps: image.steps,
    proxy: image.proxy,
    profiles: image.profiles,
    auto_rebuild: image.auto_rebuild,
    build_timeout_ms: image.build_timeout,
  };
}

function resolveScope(scope: RawPool["scope"]): Scope {
  // checks.ts guarantees exactly one of repo and org.
  if (scope.repo !== undefined) return { type: "repo", repo: scope.repo };
  return { type: "org", org: scope.org ?? "", runner_group: scope.runner_group ?? "Default" };
}

function resolvePool(pool: RawPool, onlyConnection: string): PoolConfig {
  return {
    name: pool.name,
    connection: pool.connection ?? onlyConnection,
    scope: resolveScope(pool.scope),
    labels: pool.labels,
    runners: { idle: pool.runners.idle, max: pool.runners.max ?? pool.runners.idle, idle_timeout_ms: pool.runners.idle_timeout },
    priority: pool.priority,
    default_labels: pool.default_labels,
    image: pool.image,
    name_prefix: pool.name_prefix,
    instance: {
      profiles: pool.instance.profiles,
      docker: pool.instance.docker,
      idmap_isolated: pool.instance.idmap_isolated,
      cpu: pool.instance.cpu,
      memory: pool.instance.memory,
      disk: pool.instance.disk,
      config: pool.instance.config,
      devices: pool.instance.devices,
    },
  };
}
