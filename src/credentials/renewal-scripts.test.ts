// Runs the rendered workflow's bash, as GitHub would, against loopback stand-ins for GitHub's
// API, the Actions OIDC service, runnerd's push endpoint and ssh: the token reaches runnerd
// and shows up in no output.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderRenewalWorkflow, type RenewalVia } from "./renewal-workflow.js";

const tools = ["bash", "curl", "jq"].every((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0);
const registrationToken = "AABBCCDDEEFF00112233445566";
const pat = "ghp_patpatpatpatpat";
const jwt = "eyJ.oidc.jwt";

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

describe.skipIf(!tools)("the renewal workflow's script", () => {
  let server: Server;
  let base = "";
  let dir = "";
  const seen: Seen[] = [];
  let mintStatus = 201;
  let pushStatus = 201;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "runnerd-renewal-"));
    server = createServer((req, res) => {
      void readBody(req).then((body) => {
        seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization, body });
        const reply = (status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
        if (req.url?.startsWith("/oidc")) return reply(200, { value: jwt });
        if (req.url?.startsWith("/api/repos/")) {
          return mintStatus === 201 ? reply(201, { token: registrationToken, expires_at: "2099-01-01T00:00:00Z", permissions: {} }) : reply(mintStatus, { message: "Resource not accessible by personal access token" });
        }
        if (req.url === "/runnerd/api/v1/registration-token") return pushStatus === 201 ? reply(201, { scope: "repo:acme/web", expires_at: "2099-01-01T00:00:00Z" }) : reply(pushStatus, { message: "no rule allows this caller" });
        reply(404, { message: "not found" });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A stand-in ssh: records its arguments and stdin, exits with $FAKE_SSH_EXIT.
    writeFileSync(join(dir, "ssh"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/ssh-args"\ncat > "${dir}/ssh-stdin"\nexit "\${FAKE_SSH_EXIT:-0}"\n`);
    chmodSync(join(dir, "ssh"), 0o755);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function runStep(via: RenewalVia, env: Record<string, string>) {
    seen.length = 0;
    const workflow = parse(renderRenewalWorkflow({ scope: { type: "repo", repo: "acme/web" }, apiUrl: `${base}/api`, connection: "main", via })) as {
      jobs: { renew: { steps: { env: Record<string, string>; run: string }[] } };
    };
    const step = workflow.jobs.renew.steps[0];
    if (!step) throw new Error("no step");
    // What GitHub does: expressions in env filled in, then `bash -e {0}` with the script.
    const stepEnv = Object.fromEntries(Object.entries(step.env).filter(([, v]) => !v.startsWith("${{")));
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], {
      env: { PATH: `${dir}:${process.env.PATH ?? ""}`, ...stepEnv, GH_TOKEN: pat, ...env },
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return { code, output };
  }

  const oidcEnv = () => ({ RUNNERD_URL: `${base}/runnerd/`, ACTIONS_ID_TOKEN_REQUEST_URL: `${base}/oidc?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: "request-token" });

  it("oidc: asks for the configured audience, mints with the PAT, and posts token, expiry and scope with the OIDC token", async () => {
    mintStatus = 201;
    pushStatus = 201;
    const { code, output } = await runStep({ kind: "oidc", audience: "https://ci.example.com/a b&c", url: undefined }, oidcEnv());
    expect(code).toBe(0);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /oidc?api-version=2.0&audience=https%3A%2F%2Fci.example.com%2Fa%20b%26c",
      "POST /api/repos/acme/web/actions/runners/registration-token",
      "POST /runnerd/api/v1/registration-token",
    ]);
    expect(seen.map((s) => s.authorization)).toEqual(["bearer request-token", `Bearer ${pat}`, `Bearer ${jwt}`]);
    expect(JSON.parse(seen[2]?.body ?? "")).toEqual({ token: registrationToken, expires_at: "2099-01-01T00:00:00Z", scope: "repo:acme/web" });
    expect(output).toContain('"scope":"repo:acme/web"');
    expect(output).not.toContain(registrationToken);
    expect(output).not.toContain(pat);
  });

  it("oidc: fails with runnerd's message when runnerd refuses", async () => {
    mintStatus = 201;
    pushStatus = 403;
    const { code, output } = await runStep({ kind: "oidc", audience: "runnerd", url: undefined }, oidcEnv());
    expect(code).not.toBe(0);
    expect(output).toContain("no rule allows this caller");
    expect(output).not.toContain(registrationToken);
  });

  it("fails with GitHub's message when GitHub refuses to mint, and pushes nothing", async () => {
    mintStatus = 403;
    const { code, output } = await runStep({ kind: "oidc", audience: "runnerd", url: undefined }, oidcEnv());
    expect(code).toBe(1);
    expect(output).toContain("GitHub did not mint a registration token: Resource not accessible by personal access token");
    expect(seen.some((s) => s.url.includes("registration-token") && s.url.startsWith("/runnerd"))).toBe(false);
  });

  it.each(["http://ci.example.com/runnerd", "http://localhost:80@ci.example.com/", "ci.example.com"])("oidc: refuses RUNNERD_URL %s before asking for an OIDC token", async (url) => {
    mintStatus = 201;
    pushStatus = 201;
    const { code, output } = await runStep({ kind: "oidc", audience: "runnerd", url: undefined }, { ...oidcEnv(), RUNNERD_URL: url });
    expect(code).toBe(1);
    expect(output).toContain("RUNNERD_URL must be an https:// URL");
    expect(seen).toEqual([]);
  });

  it("says which variable is missing", async () => {
    const { code, output } = await runStep({ kind: "oidc", audience: "runnerd", url: undefined }, { ...oidcEnv(), RUNNERD_URL: "" });
    expect(code).not.toBe(0);
    expect(output).toContain("set the repository variable RUNNERD_URL");
  });

  it("ssh: pipes GitHub's response to the host with the scope as the command, and passes runnerd's exit code on", async () => {
    mintStatus = 201;
    const env = { RUNNERD_HOST: "runnerd@ci.example.com", SSH_KEY: "KEY", KNOWN_HOSTS: "HOSTS" };
    const { code, output } = await runStep({ kind: "ssh", target: undefined, keyName: "renewer", configPath: "/etc/runnerd/config.yaml" }, env);
    expect(code).toBe(0);
    const args = readFileSync(join(dir, "ssh-args"), "utf8").trim().split("\n");
    expect(args.slice(-2)).toEqual(["runnerd@ci.example.com", "repo:acme/web"]);
    expect(args).toContain("StrictHostKeyChecking=yes");
    expect(JSON.parse(readFileSync(join(dir, "ssh-stdin"), "utf8"))).toMatchObject({ token: registrationToken });
    expect(output).not.toContain(registrationToken);

    const refused = await runStep({ kind: "ssh", target: undefined, keyName: "renewer", configPath: "/etc/runnerd/config.yaml" }, { ...env, FAKE_SSH_EXIT: "2" });
    expect(refused.code).toBe(2);
  });
});

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => resolve(body));
  });
}
