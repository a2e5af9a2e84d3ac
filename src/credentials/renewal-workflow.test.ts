import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ConfigError } from "../errors.js";
import { renderRenewalWorkflow, type RenewalWorkflowInput } from "./renewal-workflow.js";

interface Workflow {
  name: string;
  on: { schedule: { cron: string }[]; workflow_dispatch: null };
  permissions: Record<string, string>;
  concurrency: { group: string; "cancel-in-progress": boolean };
  jobs: { renew: { "runs-on": string; "timeout-minutes": number; steps: { shell: string; env: Record<string, string>; run: string }[] } };
}

const ssh: RenewalWorkflowInput = {
  scope: { type: "repo", repo: "Acme/Web" },
  apiUrl: "https://api.github.com",
  connection: "main",
  via: { kind: "ssh", target: "runnerd@ci.example.com", keyName: "renewer", configPath: "/etc/runnerd/config.yaml" },
};
const oidc: RenewalWorkflowInput = {
  scope: { type: "org", org: "acme" },
  apiUrl: "https://ghe.example.com/api/v3",
  connection: "ghe",
  via: { kind: "oidc", audience: "https://ci.example.com/runnerd", url: "https://ci.example.com/runnerd/" },
};

function render(input: RenewalWorkflowInput): { text: string; workflow: Workflow; step: Workflow["jobs"]["renew"]["steps"][number] } {
  const text = renderRenewalWorkflow(input);
  const workflow = parse(text) as Workflow;
  const step = workflow.jobs.renew.steps[0];
  if (!step) throw new Error("no step");
  return { text, workflow, step };
}

describe("renderRenewalWorkflow", () => {
  it.each([["ssh", ssh], ["oidc", oidc]])("%s: runs every 30 minutes and on demand, on GitHub's runners, briefly, one at a time", (_, input) => {
    const { workflow, step } = render(input);
    expect(workflow.on).toEqual({ schedule: [{ cron: "*/30 * * * *" }], workflow_dispatch: null });
    expect(workflow.jobs.renew["runs-on"]).toBe("ubuntu-latest");
    expect(workflow.jobs.renew["timeout-minutes"]).toBe(5);
    expect(workflow.concurrency).toEqual({ group: "${{ github.workflow }}", "cancel-in-progress": false });
    expect(step.shell).toBe("bash");
    expect(step.run.startsWith("set -euo pipefail\n")).toBe(true);
  });

  it.each([["ssh", ssh], ["oidc", oidc]])("%s: uses the PAT only for the mint call and never echoes a secret or the token", (_, input) => {
    const { text, step } = render(input);
    expect(step.env.GH_TOKEN).toBe("${{ secrets.RUNNER_ADMIN_PAT }}");
    // Secrets reach the script only through env, never inline in the script.
    expect(step.run).not.toContain("secrets.");
    expect(text.match(/\$\{\{ secrets\.[A-Z_]+ \}\}/g)?.length).toBe(input.via.kind === "ssh" ? 3 : 1);
    expect(step.run.match(/\$GH_TOKEN/g)).toEqual(["$GH_TOKEN"]);
    expect(step.run).toContain('-H "Authorization: Bearer $GH_TOKEN"');
    expect(step.run).not.toMatch(/set -x|xtrace/);
    // The token goes from $grant into a pipe only: never echoed, never redirected to a file.
    for (const line of step.run.split("\n").filter((l) => l.includes("$grant"))) {
      expect(line).toMatch(/printf '%s' "\$grant" \|/);
    }
    expect(step.run).not.toMatch(/(echo|printf)[^|\n]*\$(GH_TOKEN|oidc|ACTIONS_ID_TOKEN_REQUEST_TOKEN)\b[^|\n]*$/m);
    // ssh needs its key in a file: owner-only, in a directory removed on exit.
    const keyLines = step.run.split("\n").filter((l) => l.includes("$SSH_KEY"));
    expect(keyLines).toEqual(input.via.kind === "ssh" ? [`printf '%s\\n' "$SSH_KEY" > "$dir/key"`] : []);
    if (input.via.kind === "ssh") expect(step.run).toMatch(/umask 077\ndir=\$\(mktemp -d\)\ntrap 'rm -rf "\$dir"' EXIT/);
  });

  it("ssh: no permissions, the scope as the ssh command, the key's authorized_keys line in the header", () => {
    const { text, workflow, step } = render(ssh);
    expect(workflow.permissions).toEqual({});
    expect(step.env).toMatchObject({
      SSH_KEY: "${{ secrets.RUNNERD_SSH_KEY }}",
      KNOWN_HOSTS: "${{ secrets.RUNNERD_SSH_KNOWN_HOSTS }}",
      RUNNERD_HOST: "runnerd@ci.example.com",
      MINT_URL: "https://api.github.com/repos/Acme/Web/actions/runners/registration-token",
      SCOPE: "repo:acme/web",
    });
    expect(step.run).toMatch(/ssh -i "\$dir\/key" .*\\\n.* -o StrictHostKeyChecking=yes .* "\$RUNNERD_HOST" "\$SCOPE" \|\| status=\$\?/);
    expect(step.run).not.toContain("RUNNERD_HOST:?");
    expect(text).toContain('restrict,command="/usr/local/bin/runnerd --config /etc/runnerd/config.yaml token set --ssh-key renewer"');
    expect(text).toContain("github.main.auth.ssh_keys.renewer");
    expect(text).toContain("classic: `repo`");
    expect(text).toContain('"Administration: read and write" on Acme/Web');
    expect(workflow.name).toBe("Renew runnerd registration token (repo:acme/web)");
  });

  it("ssh: without a target, reads the repository variable RUNNERD_HOST and says so when it is missing", () => {
    const { text, step } = render({ ...ssh, via: { ...ssh.via, target: undefined } as RenewalWorkflowInput["via"] });
    expect(step.env.RUNNERD_HOST).toBe("${{ vars.RUNNERD_HOST }}");
    expect(step.run).toContain(': "${RUNNERD_HOST:?set the repository variable RUNNERD_HOST');
    expect(text).toMatch(/# Variables:\n# {3}RUNNERD_HOST /);
  });

  it("oidc: only id-token: write; audience, URL and scope embedded; the push fails with runnerd's message", () => {
    const { text, workflow, step } = render(oidc);
    expect(workflow.permissions).toEqual({ "id-token": "write" });
    expect(step.env).toEqual({
      GH_TOKEN: "${{ secrets.RUNNER_ADMIN_PAT }}",
      RUNNERD_URL: "https://ci.example.com/runnerd",
      AUDIENCE: "https://ci.example.com/runnerd",
      MINT_URL: "https://ghe.example.com/api/v3/orgs/acme/actions/runners/registration-token",
      SCOPE: "org:acme",
    });
    expect(step.run).toContain('-H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN"');
    expect(step.run).toContain('"$ACTIONS_ID_TOKEN_REQUEST_URL&audience=$encoded_audience"');
    expect(step.run).toContain("'$audience | @uri'");
    expect(step.run).toMatch(/curl -sS --fail-with-body --retry 4 --retry-connrefused .*\n.*-H "Authorization: Bearer \$oidc"/);
    expect(step.run).toContain('"${RUNNERD_URL%/}/api/v1/registration-token"');
    expect(step.run).toContain("'{token, expires_at, scope: $scope}'");
    expect(text).toContain("classic: `admin:org`");
    expect(text).toContain('"Self-hosted runners: read and write" on acme');
    expect(text).toContain("github.ghe.auth.oidc.allow");
    expect(text).not.toMatch(/^# Variables:/m);
  });

  it("oidc: without a URL, reads the repository variable RUNNERD_URL", () => {
    const { step } = render({ ...oidc, via: { kind: "oidc", audience: "runnerd", url: undefined } });
    expect(step.env.RUNNERD_URL).toBe("${{ vars.RUNNERD_URL }}");
    expect(step.run).toContain(': "${RUNNERD_URL:?set the repository variable RUNNERD_URL');
  });

  it("quotes values so that neither YAML nor the shell reads anything into them", () => {
    const audience = `a "b" 'c' $(touch /tmp/x) \`d\` #e: f\\g`;
    const { step } = render({ ...oidc, via: { kind: "oidc", audience, url: "https://ci.example.com/a%20b" } });
    expect(step.env.AUDIENCE).toBe(audience);
    expect(step.env.RUNNERD_URL).toBe("https://ci.example.com/a%20b");
    // The shell only ever reads the value from the environment, quoted.
    expect(step.run).not.toContain("touch");
    expect(step.run).toContain('"$AUDIENCE"');
  });

  it("takes http:// to loopback only (a local test), and checks RUNNERD_URL again when the script runs", () => {
    const { step } = render({ ...oidc, via: { kind: "oidc", audience: "a", url: "http://127.0.0.1:8780/" } });
    expect(step.env.RUNNERD_URL).toBe("http://127.0.0.1:8780");
    expect(step.run).toContain("RUNNERD_URL must be an https:// URL");
    expect(render({ ...oidc, via: { kind: "oidc", audience: "a", url: undefined } }).step.run).toContain("RUNNERD_URL must be an https:// URL");
  });

  it.each([
    [{ ...oidc, via: { kind: "oidc", audience: "${{ secrets.RUNNER_ADMIN_PAT }}", url: undefined } }, /would evaluate/],
    [{ ...oidc, via: { kind: "oidc", audience: "a\nb", url: undefined } }, /control characters/],
    [{ ...oidc, via: { kind: "oidc", audience: "a", url: "http://ci.example.com" } }, /must be https/],
    [{ ...oidc, via: { kind: "oidc", audience: "a", url: "http://127.0.0.1.nip.io/runnerd" } }, /must be https/],
    [{ ...oidc, via: { kind: "oidc", audience: "a", url: "ftp://ci.example.com" } }, /must be https/],
    [{ ...oidc, via: { kind: "oidc", audience: "a", url: "https://ci.example.com/?x=1" } }, /no user, password, query/],
    [{ ...ssh, via: { ...ssh.via, target: "-oProxyCommand=sh" } }, /is not user@host/],
    [{ ...ssh, via: { ...ssh.via, target: "a@b c" } }, /is not user@host/],
    [{ ...ssh, scope: { type: "repo", repo: "a/b; rm" } }, /invalid scope name/],
  ] as [RenewalWorkflowInput, RegExp][])("refuses unsafe input %#", (input, message) => {
    expect(() => renderRenewalWorkflow(input)).toThrow(ConfigError);
    expect(() => renderRenewalWorkflow(input)).toThrow(message);
  });
});

// The files under deploy/github/ are this renderer's output with placeholder values, checked here
// so they never drift. RUNNERD_UPDATE_DEPLOY=1 rewrites them.
describe("deploy/github workflow files", () => {
  const deployDir = join(import.meta.dirname, "..", "..", "deploy", "github");
  const placeholders = { scope: { type: "repo", repo: "owner/repo" }, apiUrl: "https://api.github.com", connection: "main" } as const;
  it.each([
    ["renew-runner-token.yml", { ...placeholders, via: { kind: "ssh", target: undefined, keyName: "renewer", configPath: "/etc/runnerd/config.yaml" } }],
    ["renew-runner-token-oidc.yml", { ...placeholders, via: { kind: "oidc", audience: "https://runnerd.example.com", url: undefined } }],
  ] as [string, RenewalWorkflowInput][])("%s is what `runnerd workflow print` renders", (file, input) => {
    const expected = renderRenewalWorkflow(input);
    if (process.env.RUNNERD_UPDATE_DEPLOY === "1") writeFileSync(join(deployDir, file), expected);
    expect(readFileSync(join(deployDir, file), "utf8")).toBe(expected);
  });
});
