import { describe, expect, it } from "vitest";
import { parseConfig } from "./load.js";
import { poolScopeKey } from "./scope.js";

const pools = `pools:
  - { name: web, scope: { repo: acme/web }, image: x }
images:
  default: {}
`;

describe("values derived from other keys", () => {
  it("names each connection and image by its key", () => {
    const config = parseConfig(`github:\n  main: { auth: { type: pat, token_file: /t } }\n${pools}`, "runnerd.yaml");
    expect(config.github.main?.name).toBe("main");
    expect(config.images.default?.name).toBe("default");
  });

  it("derives the API URL and OIDC issuer from the web URL, without trailing slashes", () => {
    const config = parseConfig(
      `github:
  dotcom: { url: "https://github.com/", auth: { type: push, oidc: { audience: a, allow: [{ repository: acme/web, scopes: [acme/web] }] } } }
  ghes: { url: "https://ghe.example.com//", auth: { type: push, oidc: { audience: a, issuer: "https://idp.example.com/", allow: [{ repository: acme/web, scopes: [acme/web] }] } } }
pools:
  - { name: web, connection: dotcom, scope: { repo: acme/web }, image: x }
  - { name: ghe, connection: ghes, scope: { repo: acme/web }, image: x }
`,
      "runnerd.yaml",
    );
    expect(config.github.dotcom).toMatchObject({ url: "https://github.com", api_url: "https://api.github.com" });
    expect(config.github.ghes).toMatchObject({ url: "https://ghe.example.com", api_url: "https://ghe.example.com/api/v3" });
    const issuer = (name: string) => {
      const auth = config.github[name]?.auth;
      return auth?.type === "push" ? auth.oidc?.issuer : undefined;
    };
    expect(issuer("dotcom")).toBe("https://token.actions.githubusercontent.com");
    expect(issuer("ghes")).toBe("https://idp.example.com");
  });

  it("gives a GHES connection's OIDC issuer under its web URL", () => {
    const config = parseConfig(
      `github:\n  main: { url: "https://ghe.example.com", auth: { type: push, oidc: { audience: a, allow: [{ repository: acme/web, scopes: [acme/web] }] } } }\n${pools}`,
      "runnerd.yaml",
    );
    const auth = config.github.main?.auth;
    expect(auth?.type === "push" && auth.oidc?.issuer).toBe("https://ghe.example.com/_services/token");
  });

  it("gives pools the only connection and images the first", () => {
    const one = parseConfig(`github:\n  main: { auth: { type: push } }\n${pools}`, "runnerd.yaml");
    expect(one.pools[0]?.connection).toBe("main");
    expect(one.images.default?.connection).toBe("main");
    const two = parseConfig(
      `github:\n  b: { auth: { type: push } }\n  a: { auth: { type: push } }\npools:\n  - { name: web, connection: a, scope: { repo: acme/web }, image: x }\nimages:\n  default: {}\n  other: { connection: a }\n`,
      "runnerd.yaml",
    );
    expect(two.pools[0]?.connection).toBe("a");
    expect(two.images.default?.connection).toBe("b");
    expect(two.images.other?.connection).toBe("a");
  });

  it("resolves scopes, with the Default runner group for organisations", () => {
    const config = parseConfig(
      `github: { main: { auth: { type: push } } }
pools:
  - { name: web, scope: { repo: Acme/Web }, image: x }
  - { name: org, scope: { org: Acme }, image: x }
  - { name: gpu, scope: { org: acme, runner_group: gpu }, image: x }
`,
      "runnerd.yaml",
    );
    expect(config.pools.map((pool) => pool.scope)).toEqual([
      { type: "repo", repo: "Acme/Web" },
      { type: "org", org: "Acme", runner_group: "Default" },
      { type: "org", org: "acme", runner_group: "gpu" },
    ]);
    expect(config.pools.map(poolScopeKey)).toEqual(["repo:acme/web", "org:acme", "org:acme"]);
  });
});
