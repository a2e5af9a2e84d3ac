import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { parseScopeKey, scopeKey } from "./scope.js";

describe("scope keys", () => {
  it("keys repositories and organisations, lower-cased", () => {
    expect(scopeKey({ type: "repo", repo: "Owner/Repo.js" })).toBe("repo:owner/repo.js");
    expect(scopeKey({ type: "org", org: "Acme" })).toBe("org:acme");
  });

  it("parses keys back, and bare owner/name as a repository", () => {
    expect(parseScopeKey("repo:owner/name")).toEqual({ type: "repo", repo: "owner/name" });
    expect(parseScopeKey("org:acme")).toEqual({ type: "org", org: "acme" });
    expect(parseScopeKey("owner/name")).toEqual({ type: "repo", repo: "owner/name" });
    expect(scopeKey(parseScopeKey("org:acme"))).toBe("org:acme");
  });

  it("rejects anything else with a clear message", () => {
    expect(() => parseScopeKey("acme")).toThrow(ConfigError);
    expect(() => parseScopeKey("acme")).toThrow('invalid scope "acme": expected repo:owner/name, org:name or owner/name');
    expect(() => parseScopeKey("repo:acme")).toThrow("expected repo:owner/name");
    expect(() => parseScopeKey("org:a/b")).toThrow("expected org:name");
    expect(() => parseScopeKey("owner/..")).toThrow(ConfigError);
  });
});
