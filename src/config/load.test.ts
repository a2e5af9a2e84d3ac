import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import type { ConfigIssue } from "../errors.js";
import { loadConfig, parseConfig } from "./load.js";

const minimal = `github:
  main:
    auth: { type: push }
pools:
  - name: web
    scope: { repo: owner/name }
    image: runnerd/default
`;

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, "runnerd.yaml");
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error("expected a ConfigError");
}

/** The issues as `line:col path: message` strings, to assert positions and paths at a glance. */
function placed(text: string): string[] {
  return issuesOf(text).map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
}

describe("parseConfig", () => {
  it("applies every default to a minimal file", () => {
    const config = parseConfig(minimal, "runnerd.yaml");
    expect(config).toEqual({
      controller_id: "runnerd",
      state_dir: "/var/lib/runnerd",
      max_runners: 10,
      resync_interval: 15_000,
      boot_timeout: 300_000,
      job_timeout: 21_600_000,
      token_min_validity: 300_000,
      runner_check_interval: 86_400_000,
      registration_sweep_interval: 600_000,
      job_recovery_interval: 300_000,
      logs_retention: { count: 500, max_mib: 2048, max_runner_mib: 64 },
      spawn_concurrency: 4,
      collect_concurrency: 8,
      shutdown_timeout: 20_000,
      log_level: "info",
      lxd: {
        socket: undefined,
        url: undefined,
        client_cert: undefined,
        client_key: undefined,
        server_cert: undefined,
        project: "default",
        storage_pool: "default",
      },
      cluster: { max_runners_per_member: undefined, member_offline_timeout: 30_000 },
      github: {
        main: { name: "main", url: "https://github.com", api_url: "https://api.github.com", auth: { type: "push", oidc: undefined, ssh_keys: {}, late_after: 2_700_000 }, webhook_secret_file: undefined },
      },
      http: { listen: "127.0.0.1:8780", trust_proxy: false },
      pools: [
        {
          name: "web",
          connection: "main",
          scope: { type: "repo", repo: "owner/name" },
          labels: [],
          runners: { floor: 1, ceiling: 1, idle_timeout: 300_000 },
          priority: 0,
          default_labels: true,
          image: "runnerd/default",
          name_prefix: "rd",
          instance: { profiles: ["default"], docker: true, idmap_isolated: false, cpu: undefined, memory: undefined, disk: undefined, config: {}, devices: {} },
          placement: { target: undefined, spread: false },
        },
      ],
      images: {},
    });
  });

  it("applies image defaults: no source (the builder picks one the backend can use), Docker, the latest runner", () => {
    const config = parseConfig(`${minimal}images:\n  default: {}\n`, "runnerd.yaml");
    expect(config.images.default).toEqual({
      name: "default",
      source: undefined,
      connection: "main",
      packages: ["git", "curl", "jq", "unzip", "zip", "xz-utils", "openssh-client"],
      docker: true,
      docker_compose: true,
      runner: { version: "latest", arch: "x64" },
      pre_pull: [],
      files: [],
      steps: [],
      proxy: undefined,
      profiles: ["default"],
      auto_rebuild: false,
      build_timeout: 2_700_000,
    });
  });

  it("checks image fields and names the line", () => {
    const text = `${minimal}images:\n  Bad_Name: {}\n  ok:\n    runner: { version: "2.x" }\n    connection: nowhere\n    proxy: ftp://x\n`;
    let message = "";
    try {
      parseConfig(text, "runnerd.yaml");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/images\.Bad_Name: image names are 1-32 lower-case/);
    expect(message).toMatch(/runnerd\.yaml:\d+:\d+: images\.ok\.runner\.version: must be "latest" or a version/);
    expect(message).toMatch(/images\.ok\.connection: unknown connection "nowhere"/);
    expect(message).toMatch(/images\.ok\.proxy: must be an http/);
  });

  it("freezes the result deeply", () => {
    const config = parseConfig(minimal, "runnerd.yaml");
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.pools[0]?.instance.profiles)).toBe(true);
    expect(Object.isFrozen(config.github.main?.auth)).toBe(true);
  });

  it("resolves durations, GHES API URLs, org scopes and runner ceilings", () => {
    const config = parseConfig(
      `resync_interval: 500ms
boot_timeout: 90
job_timeout: 2h
token_min_validity: 1.5m
lxd: { url: "https://lxd:8443", client_cert: /c.crt, client_key: /c.key }
github:
  ghes: { url: "https://ghe.example.com/", auth: { type: push } }
  dotcom: { auth: { type: push }, api_url: "http://127.0.0.1:9000" }
pools:
  - name: build
    connection: ghes
    scope: { org: acme }
    runners: { floor: 0, ceiling: 5 }
    image: img
    instance: { cpu: 2, memory: 50%, config: { security.nesting: true } }
`,
      "runnerd.yaml",
    );
    expect(config.resync_interval).toBe(500);
    expect(config.boot_timeout).toBe(90_000);
    expect(config.job_timeout).toBe(7_200_000);
    expect(config.token_min_validity).toBe(90_000);
    expect(config.github.ghes).toMatchObject({ url: "https://ghe.example.com", api_url: "https://ghe.example.com/api/v3" });
    expect(config.github.dotcom?.api_url).toBe("http://127.0.0.1:9000");
    const pool = config.pools[0];
    expect(pool?.scope).toEqual({ type: "org", org: "acme", runner_group: "Default" });
    expect(pool?.runners).toEqual({ floor: 0, ceiling: 5, idle_timeout: 300_000 });
    expect(pool?.instance).toMatchObject({ cpu: "2", memory: "50%", config: { "security.nesting": "true" } });
  });

  it("reports an unknown key deep in the file at the key", () => {
    expect(placed(minimal + "    instance:\n      profiles: [a]\n      cpus: 2\n")).toEqual([
      '10:7 pools[0].instance.cpus: unknown key "cpus"',
    ]);
  });

  it("reports a wrong type at the value", () => {
    expect(placed("max_runners: many\n" + minimal)).toEqual([
      "1:14 max_runners: Invalid input: expected number, received string",
    ]);
  });

  it("reports a missing required key at its parent map", () => {
    expect(placed(minimal.replace("    image: runnerd/default\n", ""))).toEqual(["5:5 pools[0].image: required"]);
  });

  it("reports a bad duration", () => {
    expect(placed("boot_timeout: 5 minutes\n" + minimal)).toEqual([
      '1:15 boot_timeout: invalid duration "5 minutes": use e.g. "500ms", "15s", "5m", "6h" or a number of seconds',
    ]);
  });

  it("refuses both an LXD socket and URL", () => {
    const text = "lxd:\n  socket: /var/lib/lxd/unix.socket\n  url: https://h:8443\n  client_cert: /c\n  client_key: /k\n" + minimal;
    expect(placed(text)).toEqual([
      "3:8 lxd.url: socket and url are exclusive: set one, or neither to auto-detect the local socket",
    ]);
  });

  it("requires the client certificate and key with an LXD URL", () => {
    expect(placed("lxd:\n  url: https://h:8443\n" + minimal)).toEqual([
      "2:3 lxd.client_cert: required when url is set",
      "2:3 lxd.client_key: required when url is set",
    ]);
  });

  it("reports duplicate pool names at the second one", () => {
    const text = minimal + "  - name: web\n    scope: { org: acme }\n    image: x\n";
    expect(placed(text)).toEqual(['8:11 pools[1].name: duplicate pool name "web" (first used by pools[0])']);
  });

  it("reports an unknown connection and a missing one when several exist", () => {
    const text = `github:
  a: { auth: { type: push } }
  b: { auth: { type: push } }
pools:
  - name: one
    connection: c
    scope: { repo: o/r }
    image: x
  - name: two
    scope: { repo: o/r }
    image: x
`;
    expect(placed(text)).toEqual([
      '6:17 pools[0].connection: unknown connection "c"; defined: a, b',
      "9:5 pools[1].connection: required when more than one connection is defined (a, b)",
    ]);
  });

  it("checks label format", () => {
    expect(placed(minimal + "    labels: [linux, 'has space']\n")).toEqual([
      "8:21 pools[0].labels[1]: labels are 1-64 letters, digits, '.', '_' or '-'",
    ]);
  });

  it("forbids overriding user.runnerd. keys, pointing at the key", () => {
    const text = minimal + '    instance:\n      config:\n        limits.processes: "500"\n        user.runnerd.pool: other\n';
    expect(placed(text)).toEqual([
      '11:9 pools[0].instance.config["user.runnerd.pool"]: keys starting with "user.runnerd." are reserved for runnerd',
    ]);
  });

  it("explains unknown auth types and accepts app and pat", () => {
    const text = `github:
  a: { auth: { type: oauth } }
  b: { auth: { type: app, app_id: 1, private_key_file: /k.pem } }
  c: { auth: { type: pat, token_file: /t } }
pools:
  - { name: p, connection: a, scope: { repo: o/r }, image: x }
`;
    expect(placed(text)).toEqual(["2:22 github.a.auth.type: auth type must be one of: push, app, pat"]);
  });

  it("resolves OIDC push rules and SSH keys, normalising scopes", () => {
    const text = `github:
  main:
    auth:
      type: push
      oidc:
        audience: https://ci.example.com/runnerd
        allow:
          - { repository: Acme/Infra, ref: refs/heads/main, scopes: ["repo:Acme/Web", "org:acme"] }
      ssh_keys:
        renewer: [acme/web]
pools:
  - { name: web, scope: { repo: acme/web }, image: x }
  - { name: org, scope: { org: acme }, image: x }
`;
    const auth = parseConfig(text, "runnerd.yaml").github.main?.auth;
    expect(auth).toEqual({
      type: "push",
      oidc: {
        issuer: "https://token.actions.githubusercontent.com",
        audience: "https://ci.example.com/runnerd",
        allow: [{ repository: ["Acme/Infra"], ref: ["refs/heads/main"], scopes: ["repo:acme/web", "org:acme"] }],
      },
      ssh_keys: { renewer: ["repo:acme/web"] },
      late_after: 45 * 60_000,
    });
  });

  it("refuses OIDC rules that any repository would match, and scopes no pool serves", () => {
    const text = `github:
  main:
    auth:
      type: push
      oidc:
        audience: runnerd
        allow:
          - { ref: refs/heads/main, scopes: [repo:acme/web] }
          - { repository: acme/infra, scopes: [repo:acme/other, "bad scope"] }
      ssh_keys:
        k: [org:elsewhere]
pools:
  - { name: web, scope: { repo: acme/web }, image: x }
`;
    expect(placed(text)).toEqual([
      "8:13 github.main.auth.oidc.allow[0]: a rule needs repository, repository_id, repository_owner or repository_owner_id: GitHub's OIDC issuer signs tokens for every repository on GitHub",
      "9:48 github.main.auth.oidc.allow[1].scopes[0]: scope repo:acme/other is not served by any pool of this connection (served: repo:acme/web)",
      '9:65 github.main.auth.oidc.allow[1].scopes[1]: invalid scope "bad scope": expected repo:owner/name, org:name or owner/name',
      "11:13 github.main.auth.ssh_keys.k[0]: scope org:elsewhere is not served by any pool of this connection (served: repo:acme/web)",
    ]);
  });

  it("checks scope, runner ceilings and runner name length", () => {
    const text = `github: { main: { auth: { type: push } } }
pools:
  - name: abcdefghijklmnopqrst
    name_prefix: abcdefghijabcdefghijabcdefghijabcdefghij
    scope: { repo: o/r, runner_group: g }
    runners: { floor: 3, ceiling: 2 }
    image: x
  - name: other
    scope: {}
    image: x
`;
    expect(placed(text)).toEqual([
      '3:11 pools[0].name: runner names "abcdefghijabcdefghijabcdefghijabcdefghij-abcdefghijklmnopqrst-" plus 8 random characters would be 70 characters; the limit is 63 (shorten the pool name or name_prefix)',
      "5:25 pools[0].scope.runner_group: runner_group is only valid with org",
      "6:35 pools[0].runners.ceiling: must be at least the floor (3)",
      "9:12 pools[1].scope: give exactly one of repo or org",
    ]);
  });

  it("reports every problem at once, in file order", () => {
    const text = `controller_id: My_Server
lxd:
  socket: /s
  url: https://h:8443
  client_cert: /c
  client_key: /k
github:
  main:
    auth: { type: push }
    token: abc
pools:
  - name: web
    connection: other
    scope: { repo: owner/name }
    labels: [ok, "bad label"]
    image: img
    instance:
      config: { user.runnerd.controller: x }
  - name: web
    scope: { repo: owner/name }
`;
    const issues = issuesOf(text);
    expect(issues.map((i) => `${i.file}:${i.line}:${i.column} ${i.path}`)).toEqual([
      "runnerd.yaml:1:16 controller_id",
      "runnerd.yaml:4:8 lxd.url",
      "runnerd.yaml:10:5 github.main.token",
      "runnerd.yaml:13:17 pools[0].connection",
      "runnerd.yaml:15:18 pools[0].labels[1]",
      'runnerd.yaml:18:17 pools[0].instance.config["user.runnerd.controller"]',
      "runnerd.yaml:19:5 pools[1].image",
      "runnerd.yaml:19:11 pools[1].name",
    ]);
  });

  it("formats the error message as one line per problem", () => {
    expect(() => parseConfig("max_runners: 0\n" + minimal, "/etc/runnerd.yaml")).toThrow(
      "/etc/runnerd.yaml:1:14: max_runners: Too small: expected number to be >=1",
    );
  });

  it("reports YAML syntax errors with their position", () => {
    expect(placed("github:\n  main: { auth: [push\npools: []\n")).toEqual([
      "3:1 : YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]",
      "3:1 : YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }",
    ]);
    expect(placed("a: 1\na: 2\n")).toEqual(["2:1 : YAML syntax error: Map keys must be unique"]);
  });

  it("reports an empty file", () => {
    expect(placed("# nothing yet\n")).toEqual(["1:1 : the file is empty; at least github and pools are required"]);
  });
});

describe("loadConfig", () => {
  it("reads a file and names it in issues", () => {
    const dir = mkdtempSync(join(tmpdir(), "runnerd-config-"));
    const file = join(dir, "runnerd.yaml");
    writeFileSync(file, minimal);
    expect(loadConfig(file).pools[0]?.name).toBe("web");
    writeFileSync(file, "log_level: loud\n" + minimal);
    expect(() => loadConfig(file)).toThrow(`${file}:1:12: log_level:`);
  });

  it("reports a missing file as a ConfigError", () => {
    expect(() => loadConfig("/nonexistent/runnerd.yaml")).toThrow(ConfigError);
  });
});
