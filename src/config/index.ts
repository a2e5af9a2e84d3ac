// Public face of the configuration: load, parse, format problems, scope keys.
export type { AuthConfig, Config, GitHubConnection, ImageConfig, InstanceConfig, LogLevel, LxdConfig, OrgScope, PoolConfig, RepoScope, Scope, ScopeRef } from "./types.js";
export { loadConfig, parseConfig } from "./load.js";
export { formatConfigIssues, formatPath } from "./format-issues.js";
export { parseScopeKey, scopeKey } from "./scope.js";
export { parseDuration } from "./duration.js";
export { exampleConfig } from "./example.js";
export { defaultApiUrl } from "./resolve.js";
export { MAX_RUNNER_NAME_LENGTH, RESERVED_CONFIG_PREFIX, RUNNER_NAME_SUFFIX_LENGTH } from "./checks.js";
export { AUTH_TYPES, DEFAULT_IMAGE_PACKAGES, DEFAULT_IMAGE_SOURCE, LOG_LEVELS } from "./schema.js";
