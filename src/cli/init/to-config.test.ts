import { describe, expect, it } from "vitest";
import { parseConfig } from "../../config/index.js";
import { renderRenewalWorkflow } from "../../credentials/renewal-workflow.js";
import { answersSchema, type AnswersInput } from "./answers.js";
import { withSecretPaths } from "./secrets.js";
import { configObject, configText, renewalWorkflowPath } from "./to-config.js";

const path = "/etc/runnerd/config.yaml";
const pools: AnswersInput["pools"] = [
  { name: "web", scope: "acme/web", labels: ["docker"], floor: 1, ceiling: 4 },
  { name: "ops", scope: "org:acme", runner_group: "ci", floor: 0, ceiling: 2, image: "runnerd/big" },
];

function generated(input: Omit<AnswersInput, "pools"> & { pools?: AnswersInput["pools"] }) {
  const answers = withSecretPaths(answersSchema.parse({ pools, ...input }), path);
  const text = configText(answers, path, new Date("2026-12-06T00:00:00Z"));
  return { answers, object: configObject(answers), text, config: parseConfig(text, path) };
}

describe("runnerd init: answers → configuration", () => {
  it("push over SSH and OIDC: one key for every scope, one OIDC rule per scope pinned to its workflow", () => {
    const { config, text } = generated({
      lxd: { storage_pool: "runners" },
      github: { auth: "push", ssh_key: "renewer", oidc: { audience: "https://ci.example.com/runnerd", repository: "acme/infra" } },
    });
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=../../usr/share/runnerd/runnerd-config.schema.json");
    expect(config.lxd.storage_pool).toBe("runners");
    const auth = config.github.main?.auth;
    expect(auth?.type).toBe("push");
    if (auth?.type !== "push") return;
    expect(auth.ssh_keys).toEqual({ renewer: ["repo:acme/web", "org:acme"] });
    expect(auth.oidc?.allow).toEqual([
      { repository: ["acme/infra"], ref: ["refs/heads/main"], workflow_ref: ["acme/infra/.github/workflows/renew-runner-token-repo-acme-web.yml@refs/heads/main"], scopes: ["repo:acme/web"] },
      { repository: ["acme/infra"], ref: ["refs/heads/main"], workflow_ref: ["acme/infra/.github/workflows/renew-runner-token-org-acme.yml@refs/heads/main"], scopes: ["org:acme"] },
    ]);
    expect(config.pools.map((p) => [p.name, p.scope, p.labels, p.runners.floor, p.runners.ceiling, p.image])).toEqual([
      ["web", { type: "repo", repo: "acme/web" }, ["docker"], 1, 4, "runnerd/default"],
      ["ops", { type: "org", org: "acme", runner_group: "ci" }, [], 0, 2, "runnerd/big"],
    ]);
    // Every runnerd/NAME a pool uses becomes an image to build.
    expect(Object.keys(config.images)).toEqual(["default", "big"]);
  });

  it("pins the workflow file `runnerd workflow print` tells the operator to commit", () => {
    for (const scope of [{ type: "repo", repo: "acme/Web.App" } as const, { type: "org", org: "acme" } as const]) {
      const workflow = renderRenewalWorkflow({ scope, apiUrl: "https://api.github.com", connection: "main", via: { kind: "oidc", audience: "x", url: undefined } });
      expect(workflow).toContain(`# ${renewalWorkflowPath(scope)} in a repository`);
    }
  });

  it("pat and app: the secret files beside the config unless named; a webhook secret file when asked", () => {
    const pat = generated({ lxd: { storage_pool: "runners" }, github: { auth: "pat", token: "ghp_0123456789abcdefghij", webhook_secret: "generate" } });
    expect(pat.config.github.main?.auth).toEqual({ type: "pat", token_file: "/etc/runnerd/github-pat" });
    expect(pat.config.github.main?.webhook_secret_file).toBe("/etc/runnerd/webhook-secret");
    expect(pat.text).not.toContain("ghp_");
    const app = generated({ lxd: { storage_pool: "runners" }, github: { name: "gh", url: "https://ghe.example.com", auth: "app", app_id: 42, private_key_from: "/root/app.pem" } });
    expect(app.config.github.gh?.auth).toEqual({ type: "app", app_id: 42, private_key_file: "/etc/runnerd/app.pem" });
    expect(app.config.github.gh?.api_url).toBe("https://ghe.example.com/api/v3");
  });

  it("passes settings and pool keys init does not ask about through to the config", () => {
    const { config } = generated({
      lxd: { storage_pool: "runnerd-test", socket: "/var/lib/incus/unix.socket" },
      github: { auth: "pat", token_file: "/srv/pat" },
      pools: [{ name: "pkg", scope: "repo:acme/pkg", floor: 2, image: "runnerd-test/busybox", name_prefix: "rt", instance: { devices: { github: { type: "proxy", listen: "tcp:127.0.0.1:1", connect: "tcp:127.0.0.1:1", bind: "instance" } } } }],
      settings: { controller_id: "test-1", state_dir: "/var/lib/runnerd", http: { listen: "127.0.0.1:0" } },
    });
    expect(config.controller_id).toBe("test-1");
    expect(config.http.listen).toBe("127.0.0.1:0");
    expect(config.lxd.socket).toBe("/var/lib/incus/unix.socket");
    expect(config.pools[0]?.name_prefix).toBe("rt");
    expect(config.pools[0]?.instance.devices.github?.type).toBe("proxy");
    expect(config.images).toEqual({});
  });
});
