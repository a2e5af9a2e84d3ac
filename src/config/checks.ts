// Rules across sections of the config file (rules within one section sit next to its schema).
// They run even when other fields already failed (so one pass reports every problem), so they
// read the value defensively instead of trusting its type.
import type { z } from "zod";
import { reporter, type Report } from "./fields.js";
import { IMAGE_NAME_PATTERN } from "./image-names.js";
import { parseScopeKey, scopeKey } from "./scope.js";

/** Random characters runnerd appends to `<prefix>-<pool>-` to name a runner. */
export const RUNNER_NAME_SUFFIX_LENGTH = 8;
/** LXD instance names are host names: at most 63 characters. */
export const MAX_RUNNER_NAME_LENGTH = 63;
/** Instance config keys runnerd writes itself (ownership and bookkeeping). */
export const RESERVED_CONFIG_PREFIX = "user.runnerd.";

type Loose = Record<string, unknown>;
type Path = (string | number)[];

function asRecord(value: unknown): Loose | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Loose) : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function checkConfig(value: unknown, ctx: Pick<z.RefinementCtx, "addIssue">): void {
  const report = reporter(ctx);
  const root = asRecord(value) ?? {};
  checkLxd(asRecord(root.lxd), report);
  const connections = asRecord(root.github);
  if (connections && Object.keys(connections).length === 0) {
    report(["github"], "at least one connection is required");
  }
  const images = asRecord(root.images);
  for (const [name, image] of Object.entries(images ?? {})) {
    if (!IMAGE_NAME_PATTERN.test(name)) report(["images", name], "image names are 1-32 lower-case letters, digits or '-'", "key");
    const connection = asString(asRecord(image)?.connection);
    if (connection !== undefined && connections && !(connection in connections)) {
      report(["images", name, "connection"], `unknown connection "${connection}"; defined: ${Object.keys(connections).join(", ") || "none"}`);
    }
  }
  const pools = Array.isArray(root.pools) ? (root.pools as unknown[]) : [];
  for (const [name, connection] of Object.entries(connections ?? {})) {
    checkPushAuth(asRecord(asRecord(connection)?.auth), ["github", name, "auth"], servedScopes(pools, name, connections), report);
  }
  const firstIndexByName = new Map<string, number>();
  pools.forEach((pool, index) => {
    const p = asRecord(pool);
    if (!p) return;
    const name = asString(p.name);
    if (name !== undefined) {
      const first = firstIndexByName.get(name);
      if (first === undefined) firstIndexByName.set(name, index);
      else report(["pools", index, "name"], `duplicate pool name "${name}" (first used by pools[${first}])`);
    }
    checkPool(p, ["pools", index], connections, report);
  });
}

/** Scope keys served by the pools of one connection. A scope may be as written or already resolved (both carry repo or org). */
function servedScopes(pools: unknown[], connection: string, connections: Loose | undefined): Set<string> {
  const only = connections && Object.keys(connections).length === 1;
  const served = new Set<string>();
  for (const pool of pools) {
    const p = asRecord(pool);
    const scope = asRecord(p?.scope);
    const uses = asString(p?.connection) ?? (only ? connection : undefined);
    if (!scope || uses !== connection) continue;
    const repo = asString(scope.repo);
    const org = asString(scope.org);
    try {
      if (repo !== undefined) served.add(scopeKey(parseScopeKey(`repo:${repo}`)));
      else if (org !== undefined) served.add(scopeKey(parseScopeKey(`org:${org}`)));
    } catch {
      // The pool's own check reports a malformed scope.
    }
  }
  return served;
}

/** Claims that pin a rule to a repository or owner: without one, any repository on GitHub would match. */
const ANCHOR_CLAIMS = ["repository", "repository_id", "repository_owner", "repository_owner_id"];

function checkPushAuth(auth: Loose | undefined, at: Path, served: Set<string>, report: Report): void {
  if (!auth || auth.type !== "push") return;
  const unserved = (scope: unknown, path: Path) => {
    if (typeof scope !== "string") return;
    let key: string;
    try {
      key = scopeKey(parseScopeKey(scope));
    } catch {
      return; // reported by the schema
    }
    if (!served.has(key)) report(path, `scope ${key} is not served by any pool of this connection (served: ${[...served].join(", ") || "none"})`);
  };
  const oidc = asRecord(auth.oidc);
  const rules = Array.isArray(oidc?.allow) ? (oidc.allow as unknown[]) : [];
  rules.forEach((rule, index) => {
    const r = asRecord(rule);
    if (!r) return;
    if (!ANCHOR_CLAIMS.some((claim) => r[claim] !== undefined)) {
      report([...at, "oidc", "allow", index], `a rule needs repository, repository_id, repository_owner or repository_owner_id: GitHub's OIDC issuer signs tokens for every repository on GitHub`);
    }
    const events = Array.isArray(r.event_name) ? (r.event_name as unknown[]) : [r.event_name];
    const forkEvent = events.findIndex((event) => event === "pull_request_target");
    if (forkEvent >= 0) {
      const path = Array.isArray(r.event_name) ? [...at, "oidc", "allow", index, "event_name", forkEvent] : [...at, "oidc", "allow", index, "event_name"];
      report(path, "pull_request_target workflows run with the repository's rights, often on code from a fork; no renewal workflow needs it (use schedule and workflow_dispatch)");
    }
    if (Array.isArray(r.scopes)) r.scopes.forEach((scope, i) => unserved(scope, [...at, "oidc", "allow", index, "scopes", i]));
  });
  for (const [name, scopes] of Object.entries(asRecord(auth.ssh_keys) ?? {})) {
    if (Array.isArray(scopes)) scopes.forEach((scope, i) => unserved(scope, [...at, "ssh_keys", name, i]));
  }
}

function checkLxd(lxd: Loose | undefined, report: Report): void {
  if (!lxd) return;
  if (lxd.socket !== undefined && lxd.url !== undefined) {
    report(["lxd", "url"], "socket and url are exclusive: set one, or neither to auto-detect the local socket");
  }
  for (const key of ["client_cert", "client_key"]) {
    if (lxd.url !== undefined && lxd[key] === undefined) report(["lxd", key], "required when url is set");
  }
  for (const key of ["client_cert", "client_key", "server_cert"]) {
    if (lxd.url === undefined && lxd[key] !== undefined) report(["lxd", key], "only used with url", "key");
  }
}

function checkPool(pool: Loose, at: Path, connections: Loose | undefined, report: Report): void {
  const names = connections ? Object.keys(connections) : [];
  const connection = asString(pool.connection);
  if (connection !== undefined && connections && !(connection in connections)) {
    report([...at, "connection"], `unknown connection "${connection}"; defined: ${names.join(", ") || "none"}`);
  } else if (pool.connection === undefined && names.length > 1) {
    report([...at, "connection"], `required when more than one connection is defined (${names.join(", ")})`);
  }

  const name = asString(pool.name);
  const prefix = asString(pool.name_prefix);
  if (name !== undefined && prefix !== undefined) {
    const length = prefix.length + name.length + 2 + RUNNER_NAME_SUFFIX_LENGTH;
    if (length > MAX_RUNNER_NAME_LENGTH) {
      report(
        [...at, "name"],
        `runner names "${prefix}-${name}-" plus ${RUNNER_NAME_SUFFIX_LENGTH} random characters would be ${length} characters; the limit is ${MAX_RUNNER_NAME_LENGTH} (shorten the pool name or name_prefix)`,
      );
    }
  }

  const config = asRecord(asRecord(pool.instance)?.config);
  for (const key of Object.keys(config ?? {})) {
    if (key.startsWith(RESERVED_CONFIG_PREFIX)) {
      report([...at, "instance", "config", key], `keys starting with "${RESERVED_CONFIG_PREFIX}" are reserved for runnerd`, "key");
    }
  }
}
