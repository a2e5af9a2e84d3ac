import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { scopeForSshKey, scopeFromSshCommand, sshTokenSource } from "./ssh-push.js";

const config = parseConfig(
  `github:
  main:
    auth:
      type: push
      ssh_keys:
        renewer: [repo:acme/web, org:acme]
        web-only: [acme/web]
pools:
  - { name: web, scope: { repo: Acme/Web }, image: x }
  - { name: org, scope: { org: acme }, image: x }
  - { name: api, scope: { repo: acme/api }, image: x }
`,
  "runnerd.yaml",
);

describe("scopeFromSshCommand", () => {
  it.each([
    ["repo:acme/web", "repo:acme/web"],
    ["  Acme/Web \n", "repo:acme/web"],
    ["token set org:acme", "org:acme"],
    ["token   set\trepo:acme/web", "repo:acme/web"],
  ])("takes %j", (command, scope) => {
    expect(scopeFromSshCommand(command)).toBe(scope);
  });

  it.each([
    [undefined, /no SSH_ORIGINAL_COMMAND/],
    ["  ", /no SSH_ORIGINAL_COMMAND/],
    ["repo:a/b; rm -rf /", /must be SCOPE or "token set SCOPE", e\.g\./],
    ["token set", /must be SCOPE/],
    ["runnerd token set repo:a/b", /must be SCOPE/],
    ["token show repo:a/b", /must be SCOPE/],
    ["repo:a/b;id", /invalid scope/],
    ["$(id)", /invalid scope/],
  ])("refuses %j", (command, message) => {
    expect(() => scopeFromSshCommand(command)).toThrow(ConfigError);
    expect(() => scopeFromSshCommand(command)).toThrow(message);
  });
});

describe("scopeForSshKey", () => {
  it("allows the scopes listed under the key, one key for several scopes", () => {
    expect(scopeForSshKey(config, "/etc/runnerd.yaml", "renewer", "repo:acme/web")).toBe("repo:acme/web");
    expect(scopeForSshKey(config, "/etc/runnerd.yaml", "renewer", "token set org:acme")).toBe("org:acme");
    expect(scopeForSshKey(config, "/etc/runnerd.yaml", "web-only", "ACME/WEB")).toBe("repo:acme/web");
  });

  it("refuses a scope the key does not own, even one a pool serves", () => {
    expect(() => scopeForSshKey(config, "/etc/runnerd.yaml", "web-only", "org:acme")).toThrow('ssh key "web-only" may not push tokens for org:acme (allowed: repo:acme/web)');
    expect(() => scopeForSshKey(config, "/etc/runnerd.yaml", "renewer", "repo:acme/api")).toThrow(/may not push tokens for repo:acme\/api/);
  });

  it("refuses an unknown key before looking at the command", () => {
    expect(() => scopeForSshKey(config, "/etc/runnerd.yaml", "stranger", "repo:a/b; rm -rf /")).toThrow(
      'ssh key "stranger" is not configured: list it under github.<connection>.auth.ssh_keys in /etc/runnerd.yaml (configured keys: renewer, web-only)',
    );
    expect(() => scopeForSshKey(config, "/etc/runnerd.yaml", "toString", "repo:acme/web")).toThrow(/not configured/);
  });
});

describe("sshTokenSource", () => {
  it("names the key and the client's address", () => {
    expect(sshTokenSource("renewer", "203.0.113.7 50022 192.0.2.1 22")).toBe("ssh:renewer from 203.0.113.7");
    expect(sshTokenSource("renewer", undefined)).toBe("ssh:renewer from unknown");
  });
});
