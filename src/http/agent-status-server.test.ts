import { mkdtempSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { agentKey, loadOrCreateAgentSecret, parseReport, startAgentStatusServer, type AgentReport } from "./agent-status-server.js";

const secret = Buffer.alloc(32, 7);

describe("agent status reports", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("accepts a report signed for its instance", () => {
    const body = new URLSearchParams({ name: "rd-web-1", key: agentKey(secret, "rd-web-1"), state: "busy", at: "1800000000", job: "build & test" }).toString();
    expect(parseReport(body, secret)).toEqual({ runner: "rd-web-1", status: { state: "busy", since: 1_800_000_000_000, job: "build & test" } });
  });

  it.each([
    ["another instance's key", { name: "rd-web-1", key: agentKey(secret, "rd-web-2"), state: "finished", at: "1" }],
    ["no key", { name: "rd-web-1", state: "finished", at: "1" }],
    ["an unknown state", { name: "rd-web-1", key: agentKey(secret, "rd-web-1"), state: "exploded", at: "1" }],
    ["no time", { name: "rd-web-1", key: agentKey(secret, "rd-web-1"), state: "busy" }],
  ])("refuses %s", (_what, fields) => {
    expect(parseReport(new URLSearchParams(fields as Record<string, string>).toString(), secret)).toBeUndefined();
  });

  it("keeps its secret in a 0600 file and reuses it", () => {
    const dir = mkdtempSync(join(tmpdir(), "agent-secret-"));
    dirs.push(dir);
    const file = join(dir, "agent.key");
    const first = loadOrCreateAgentSecret(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateAgentSecret(file).equals(first)).toBe(true);
  });

  it("serves reports on a unix socket and answers 403 to forgeries", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agent-sock-"));
    dirs.push(dir);
    const socketPath = join(dir, "agent.sock");
    const reports: AgentReport[] = [];
    const server = await startAgentStatusServer(socketPath, secret, (r) => reports.push(r));
    const post = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ socketPath, path: "/v1/status", method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end(body);
      });
    expect(await post(new URLSearchParams({ name: "rd-a", key: agentKey(secret, "rd-a"), state: "listening", at: "5" }).toString())).toBe(204);
    expect(await post(new URLSearchParams({ name: "rd-b", key: agentKey(secret, "rd-a"), state: "finished", at: "5" }).toString())).toBe(403);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    await new Promise((resolve) => server.close(resolve));
    expect(reports).toEqual([{ runner: "rd-a", status: { state: "listening", since: 5000 } }]);
  });
});
