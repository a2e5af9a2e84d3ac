// Public face of the configuration: load, parse, format problems, scope keys, the Config types.
export type { AppAuth, AuthConfig, Config, GitHubConnection, HttpConfig, ImageConfig, InstanceConfig, LogLevel, LxdConfig, OidcConfig, OidcRule, OrgScope, PatAuth, PoolConfig, PushAuth, RepoScope, Scope } from "./schema.js";
export type { ScopeRef } from "./scope.js";
export type { DeepReadonly } from "./freeze.js";
export type { LoadedConfig } from "./load.js";
export { loadConfig, loadConfigWithWarnings, parseConfig, parseConfigWithWarnings } from "./load.js";
export { formatConfigIssues, formatPath, formatWarnings } from "./format-issues.js";
export { positionInText } from "./yaml-positions.js";
export { parseScopeKey, poolScopeKey, scopeKey } from "./scope.js";
export { parseDuration } from "./duration.js";
export { exampleConfig } from "./example.js";
export { defaultApiUrl, defaultOidcIssuer } from "./github-urls.js";
export { MAX_RUNNER_NAME_LENGTH, RESERVED_CONFIG_PREFIX, RUNNER_NAME_SUFFIX_LENGTH } from "./checks.js";
export { LOG_LEVELS } from "./schema.js";
export { AUTH_TYPES, OIDC_RULE_CLAIMS } from "./github-schema.js";
export { DEFAULT_IMAGE_PACKAGES } from "./image-schema.js";
export { INSTALLED_SCHEMA_PATH, configJsonSchema, configJsonSchemaText } from "./json-schema.js";
