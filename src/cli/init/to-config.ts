// Answers → the configuration file init writes. The text is loaded through the project's own
// config loader before anything is written, so a config init writes always loads.
import { dirname, relative, resolve } from "node:path";
import { stringify } from "yaml";
import { INSTALLED_SCHEMA_PATH, parseConfigWithWarnings, scopeKey, type LoadedConfig, type ScopeRef } from "../../config/index.js";
import { ConfigError } from "../../errors.js";
import type { Answers, GitHubAnswers, PoolAnswers } from "./answers.js";

/** Where the renewal workflow of a scope is committed (as `runnerd workflow print` names it). */
export function renewalWorkflowPath(scope: ScopeRef): string {
  return `.github/workflows/renew-runner-token-${scopeKey(scope).replace(/[^a-z0-9]+/g, "-")}.yml`;
}

/** Answers with every file path filled in (secrets.ts's resolveSecretPaths). */
export function configObject(answers: Answers): Record<string, unknown> {
  const { lxd, github } = answers;
  const images = new Map<string, Record<string, unknown>>();
  for (const pool of answers.pools) {
    const name = /^runnerd\/([a-z0-9-]{1,32})$/.exec(poolImage(pool, answers))?.[1];
    if (name) images.set(name, name === answers.image.name && answers.image.source ? { source: answers.image.source } : {});
  }
  return {
    ...answers.settings,
    lxd: {
      ...(lxd.socket ? { socket: lxd.socket } : {}),
      ...(lxd.project ? { project: lxd.project } : {}),
      ...(lxd.storage_pool ? { storage_pool: lxd.storage_pool } : {}),
    },
    github: { [github.name]: connection(github, answers.pools) },
    pools: answers.pools.map((pool) => poolObject(pool, answers)),
    ...(images.size > 0 ? { images: Object.fromEntries(images) } : {}),
  };
}

function connection(github: GitHubAnswers, pools: readonly PoolAnswers[]): Record<string, unknown> {
  const webhook = github.webhook_secret_file ? { webhook_secret_file: github.webhook_secret_file } : {};
  return { url: github.url, auth: auth(github, pools), ...webhook };
}

function auth(github: GitHubAnswers, pools: readonly PoolAnswers[]): Record<string, unknown> {
  if (github.auth === "pat") return { type: "pat", token_file: github.token_file };
  if (github.auth === "app") return { type: "app", app_id: github.app_id, private_key_file: github.private_key_file };
  const scopes = [...new Map(pools.map((p) => [scopeKey(p.scope), p.scope])).entries()];
  const { oidc, ssh_key: key } = github;
  return {
    type: "push",
    ...(key ? { ssh_keys: { [key]: scopes.map(([k]) => k) } } : {}),
    ...(oidc ? { oidc: { audience: oidc.audience, allow: scopes.map(([k, scope]) => oidcRule(k, scope, oidc)) } } : {}),
  };
}

/** One rule per scope, pinned to the repository, branch and file of that scope's renewal workflow. */
function oidcRule(key: string, scope: ScopeRef, oidc: NonNullable<GitHubAnswers["oidc"]>): Record<string, unknown> {
  const repository = oidc.repository ?? (scope.type === "repo" ? scope.repo : undefined);
  // answers.ts refuses an organisation scope without oidc.repository.
  if (!repository) throw new ConfigError(`github.oidc.repository: required for ${key}`);
  return { repository, ref: oidc.ref, workflow_ref: `${repository}/${renewalWorkflowPath(scope)}@${oidc.ref}`, scopes: [key] };
}

function poolImage(pool: PoolAnswers, answers: Answers): string {
  return pool.image ?? `runnerd/${answers.image.name}`;
}

function poolObject(pool: PoolAnswers, answers: Answers): Record<string, unknown> {
  // runner_group goes into the scope even for a repository, so the loader says it is refused there.
  const group = pool.runner_group ? { runner_group: pool.runner_group } : {};
  const scope = pool.scope.type === "repo" ? { repo: pool.scope.repo, ...group } : { org: pool.scope.org, ...group };
  const passed = Object.fromEntries(Object.entries({ name_prefix: pool.name_prefix, priority: pool.priority, default_labels: pool.default_labels, instance: pool.instance }).filter(([, v]) => v !== undefined));
  return {
    name: pool.name,
    scope,
    labels: pool.labels,
    runners: { floor: pool.floor, ...(pool.ceiling !== undefined ? { ceiling: pool.ceiling } : {}) },
    image: poolImage(pool, answers),
    ...passed,
  };
}

/** The file's text: a header, then the YAML. */
export function configText(answers: Answers, configPath: string, now: Date = new Date()): string {
  const header = [
    // Relative, as in `runnerd config example`: editors resolve it from the file's own directory.
    `# yaml-language-server: $schema=${relative(dirname(resolve(configPath)), INSTALLED_SCHEMA_PATH)}`,
    `# Written by \`runnerd init\` on ${now.toISOString().slice(0, 10)}. Every key and its default: \`runnerd config example\`;`,
    "# check after editing: `runnerd config check`; apply to a running daemon: `systemctl reload runnerd`.",
  ];
  return `${header.join("\n")}\n${stringify(configObject(answers))}`;
}

/** The text, loaded as runnerd will load it; throws the loader's ConfigError (file, line, field). */
export function checkedConfig(text: string, fileName: string): LoadedConfig {
  return parseConfigWithWarnings(text, fileName);
}
