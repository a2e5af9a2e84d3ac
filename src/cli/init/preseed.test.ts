import { describe, expect, it } from "vitest";
import { ConfigError } from "../../errors.js";
import { dumpPreseed, parsePath, parsePreseed, preseedIssue } from "./preseed.js";

function problems(text: string): string {
  try {
    parsePreseed(text, "/root/preseed.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("the preseed was accepted");
}

const valid = `lxd:
  storage_pool: runners
github:
  auth: pat
  token_env: GITHUB_PAT
pools:
  - name: web
    scope: acme/web
    floor: 2
`;

describe("runnerd init --preseed", () => {
  it("reads the answers, with defaults for what it leaves out", () => {
    const answers = parsePreseed(valid, "p.yaml");
    expect(answers.github).toMatchObject({ name: "main", url: "https://github.com", auth: "pat", token_env: "GITHUB_PAT" });
    expect(answers.pools[0]).toMatchObject({ name: "web", scope: { type: "repo", repo: "acme/web" }, floor: 2, labels: [] });
    expect(answers.image).toEqual({ name: "default", build: false });
    expect(answers.doctor).toBe(true);
  });

  it("reports every problem with file, line, column and field", () => {
    const text = `lxd:
  storage_pool: runners
  sockt: /x
github:
  auth: pat
  app_id: 3
pools:
  - name: Web
    scope: acme
    floor: -1
`;
    expect(problems(text).split("\n")).toEqual([
      '/root/preseed.yaml:3:3: lxd.sockt: unknown key "sockt"',
      "/root/preseed.yaml:6:3: github.app_id: not used with auth: pat",
      "/root/preseed.yaml:8:11: pools[0].name: pool names are lower-case letters, digits or '-'",
      '/root/preseed.yaml:9:12: pools[0].scope: invalid scope "acme": expected repo:owner/name, org:name or owner/name',
      "/root/preseed.yaml:10:12: pools[0].floor: Too small: expected number to be >=0",
    ]);
  });

  it("names what is missing, and what a mode needs", () => {
    expect(problems("lxd: {}\n")).toBe("/root/preseed.yaml:1:1: github: required\n/root/preseed.yaml:1:1: pools: required");
    expect(problems("github: { auth: push }\npools: [{ name: a, scope: org:acme }]\n")).toBe("/root/preseed.yaml:1:17: github.auth: push needs a way in: ssh_key (SSH forced command), oidc (HTTPS), or both");
    expect(problems("github: { auth: app }\npools: [{ name: a, scope: org:acme }]\n")).toBe("/root/preseed.yaml:1:9: github.app_id: required with auth: app");
    expect(problems("github: { auth: push, oidc: { audience: x } }\npools: [{ name: a, scope: org:acme }]\n")).toMatch(/^\/root\/preseed\.yaml:1:29: github\.oidc: repository: required with the organisation scope org:acme/);
    expect(problems("settings: { pools: [] }\ngithub: { auth: pat }\npools: [{ name: a, scope: a/b }]\n")).toMatch(/^\/root\/preseed\.yaml:1:13: settings\.pools: init writes pools from its own keys/);
  });

  it("reports YAML syntax errors and a file that is no map", () => {
    expect(problems("github: [\n")).toMatch(/^\/root\/preseed\.yaml:2:1: YAML syntax error: /);
    expect(problems("- a\n")).toBe("/root/preseed.yaml:1:1: a preseed is a YAML map with at least github: and pools:");
  });

  it("places a problem the generated config has at the preseed key it came from", () => {
    const text = `${valid}    instance:\n      cpu: many\nsettings:\n  max_runners: 0\n`;
    const preseed = { answers: parsePreseed(text, "p.yaml"), text, fileName: "p.yaml" };
    expect(preseedIssue(preseed, { file: "/etc/runnerd/config.yaml", line: 9, column: 1, path: "pools[0].instance.cpu", message: "bad cpu" })).toEqual({ file: "p.yaml", line: 11, column: 12, path: "pools[0].instance.cpu", message: "bad cpu (config: pools[0].instance.cpu)" });
    expect(preseedIssue(preseed, { file: "c", line: 1, column: 1, path: "pools[0].runners.floor", message: "m" })).toMatchObject({ line: 9, path: "pools[0].floor" });
    expect(preseedIssue(preseed, { file: "c", line: 1, column: 1, path: "max_runners", message: "m" })).toMatchObject({ line: 13, path: "settings.max_runners" });
    expect(preseedIssue(preseed, { file: "c", line: 1, column: 1, path: "github.main.auth.token_file", message: "m" })).toMatchObject({ line: 4, path: "github.token_file" });
  });

  it("parses the config's field paths back into segments", () => {
    expect(parsePath('pools[1].instance.config["security.nesting"]')).toEqual(["pools", 1, "instance", "config", "security.nesting"]);
    expect(parsePath("")).toEqual([]);
  });

  it("dumps answers as a preseed that reads back the same, without secret values", () => {
    const answers = parsePreseed(valid.replace("token_env: GITHUB_PAT", "token: ghp_secret0123456789abcdef\n  token_file: /etc/runnerd/github-pat\n  webhook_secret: s3cret\n  webhook_secret_file: /etc/runnerd/webhook-secret"), "p.yaml");
    const dumped = dumpPreseed(answers);
    expect(dumped).not.toMatch(/ghp_secret|s3cret/);
    const again = parsePreseed(dumped, "dump.yaml");
    expect(again.pools).toEqual(answers.pools);
    expect(again.github).toMatchObject({ auth: "pat", token_file: "/etc/runnerd/github-pat", webhook_secret_file: "/etc/runnerd/webhook-secret" });
    expect(again.github.token).toBeUndefined();
  });
});
