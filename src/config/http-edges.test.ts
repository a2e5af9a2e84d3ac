// The config of runnerd's HTTP edges: trusted proxies, OIDC push rules that pin no workflow, and
// a webhook secret being rotated. Problems and warnings name file:line:col.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { formatConfigIssues } from "./format-issues.js";
import { parseConfig, parseConfigWithWarnings } from "./load.js";

const pools = `pools:
  - { name: web, scope: { repo: acme/web }, image: x }
`;
const push = `github:
  main:
    auth: { type: push }
`;

function placed(text: string): string[] {
  try {
    parseConfig(text, "runnerd.yaml");
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("http.trust_proxy", () => {
  it.each([
    ["false", false],
    ["1", 1],
    ["2", 2],
    ['[127.0.0.1, "::1", 10.0.0.0/8, "fd00::/8"]', ["127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8"]],
  ])("takes %s", (value, parsed) => {
    expect(parseConfig(`http: { trust_proxy: ${value} }\n${push}${pools}`, "runnerd.yaml").http.trust_proxy).toEqual(parsed);
  });

  it("defaults to false", () => {
    expect(parseConfig(push + pools, "runnerd.yaml").http.trust_proxy).toBe(false);
  });

  it("reads the deprecated true as one hop, with a warning at the key", () => {
    const { config, warnings } = parseConfigWithWarnings(`${push}http:\n  trust_proxy: true\n${pools}`, "runnerd.yaml");
    expect(config.http.trust_proxy).toBe(1);
    expect(formatConfigIssues(warnings)).toMatch(/^runnerd\.yaml:5:3: http\.trust_proxy: deprecated: true is read as 1 \(one proxy in front of runnerd; the client is the rightmost X-Forwarded-For entry\); write 1, or better the proxy's addresses/);
  });

  it("refuses anything else, each bad address at its place", () => {
    expect(placed(`http:\n  trust_proxy: 0\n${push}${pools}`)).toEqual([
      '2:16 http.trust_proxy: must be false, a number of proxies in front of runnerd (1 or more), or a list of the proxies\' addresses or CIDRs, e.g. [127.0.0.1, "::1"]',
    ]);
    expect(placed(`http:\n  trust_proxy: [127.0.0.1, proxy.local, 10.0.0.0/33, "::1/129", 1.2.3.4/x]\n${push}${pools}`)).toEqual([
      "2:28 http.trust_proxy[1]: must be an IP address or CIDR, e.g. 127.0.0.1, 10.0.0.0/8 or ::1",
      "2:41 http.trust_proxy[2]: must be an IP address or CIDR, e.g. 127.0.0.1, 10.0.0.0/8 or ::1",
      "2:54 http.trust_proxy[3]: must be an IP address or CIDR, e.g. 127.0.0.1, 10.0.0.0/8 or ::1",
      "2:65 http.trust_proxy[4]: must be an IP address or CIDR, e.g. 127.0.0.1, 10.0.0.0/8 or ::1",
    ]);
    expect(placed(`http: { trust_proxy: [] }\n${push}${pools}`)).toHaveLength(1);
    expect(placed(`http: { trust_proxy: 1.5 }\n${push}${pools}`)).toHaveLength(1);
  });
});

const withRules = (rules: string) => `github:
  main:
    auth:
      type: push
      oidc:
        audience: runnerd
        allow:
${rules}${pools}`;

describe("OIDC push rules that pin no workflow", () => {
  it("load, with a warning at the rule that says why and how to fix it", () => {
    const { config, warnings } = parseConfigWithWarnings(withRules("          - { repository: acme/infra, ref: refs/heads/main, scopes: [repo:acme/web] }\n"), "runnerd.yaml");
    expect(config.github.main?.auth).toMatchObject({ oidc: { allow: [{ repository: ["acme/infra"] }] } });
    expect(warnings).toHaveLength(1);
    const [line] = formatConfigIssues(warnings).split("\n");
    expect(line).toMatch(/^runnerd\.yaml:8:13: github\.main\.auth\.oidc\.allow\[0\]: this rule admits every workflow of the repositories it names/);
    expect(line).toMatch(/pull_request_target/);
    expect(line).toMatch(/Pin workflow_ref to the renewal workflow/);
  });

  it.each([
    "{ repository: acme/infra, workflow_ref: acme/infra/.github/workflows/renew.yml@refs/heads/main, scopes: [repo:acme/web] }",
    "{ repository: acme/infra, job_workflow_ref: acme/infra/.github/workflows/renew.yml@refs/heads/main, scopes: [repo:acme/web] }",
    "{ repository: acme/infra, environment: runner-tokens, scopes: [repo:acme/web] }",
    "{ repository: acme/infra, ref: refs/heads/main, event_name: [schedule, workflow_dispatch], scopes: [repo:acme/web] }",
    "{ repository: acme/infra, event_name: schedule, scopes: [repo:acme/web] }",
  ])("%s: no warning", (rule) => {
    expect(parseConfigWithWarnings(withRules(`          - ${rule}\n`), "runnerd.yaml").warnings).toEqual([]);
  });

  it("warn when event_name admits an event forks can start", () => {
    const { warnings } = parseConfigWithWarnings(withRules("          - { repository: acme/infra, event_name: [schedule, workflow_run], scopes: [repo:acme/web] }\n"), "runnerd.yaml");
    expect(warnings.map((w) => w.path)).toEqual(["github.main.auth.oidc.allow[0]"]);
  });

  it("refuse pull_request_target in event_name, at the value", () => {
    expect(placed(withRules("          - { repository: acme/infra, event_name: [schedule, pull_request_target], scopes: [repo:acme/web] }\n"))).toEqual([
      "8:62 github.main.auth.oidc.allow[0].event_name[1]: pull_request_target workflows run with the repository's rights, often on code from a fork; no renewal workflow needs it (use schedule and workflow_dispatch)",
    ]);
    expect(placed(withRules("          - { repository: acme/infra, event_name: pull_request_target, scopes: [repo:acme/web] }\n"))).toHaveLength(1);
  });
});

describe("webhook_secret_previous_file", () => {
  it("goes beside webhook_secret_file", () => {
    const text = `github:\n  main:\n    auth: { type: push }\n    webhook_secret_file: /etc/runnerd/hook-new\n    webhook_secret_previous_file: /etc/runnerd/hook-old\n${pools}`;
    expect(parseConfig(text, "runnerd.yaml").github.main).toMatchObject({ webhook_secret_file: "/etc/runnerd/hook-new", webhook_secret_previous_file: "/etc/runnerd/hook-old" });
  });

  it("is refused alone, at its key", () => {
    expect(placed(`github:\n  main:\n    auth: { type: push }\n    webhook_secret_previous_file: /etc/runnerd/hook-old\n${pools}`)).toEqual([
      "4:5 github.main.webhook_secret_previous_file: only used with webhook_secret_file (the new secret); during a rotation both are set",
    ]);
  });
});
