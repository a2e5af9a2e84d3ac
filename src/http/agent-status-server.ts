// The agents' back channel: each instance reaches this unix socket through an LXD proxy device
// on its own loopback, and reports "listening", "busy" and "finished" the moment they happen, so
// runnerd replaces a finished runner without waiting for LXD to finish stopping it and without
// polling status files. Reports are signed per instance (HMAC of its name), so a job can at
// most lie about its own runner. The status file stays the fallback when a report is lost.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AgentState, AgentStatus } from "../pools/agent-status.js";

const states = new Set<string>(["booting", "configuring", "listening", "busy", "finished"]);
const maxBodyBytes = 4096;

/** The per-daemon secret the per-instance keys derive from; kept in state_dir, mode 0600. */
export function loadOrCreateAgentSecret(file: string): Buffer {
  if (existsSync(file)) {
    const secret = Buffer.from(readFileSync(file, "utf8").trim(), "hex");
    if (secret.length >= 32) return secret;
  }
  const secret = randomBytes(32);
  writeFileSync(file, `${secret.toString("hex")}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

export function agentKey(secret: Buffer, instance: string): string {
  return createHmac("sha256", secret).update(instance).digest("hex");
}

export interface AgentReport {
  runner: string;
  status: AgentStatus;
}

export async function startAgentStatusServer(socketPath: string, secret: Buffer, onReport: (report: AgentReport) => void): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/v1/status") {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) req.destroy();
      else chunks.push(chunk);
    });
    req.on("end", () => {
      const report = parseReport(Buffer.concat(chunks).toString("utf8"), secret);
      res.writeHead(report ? 204 : 403).end();
      if (report) onReport(report);
    });
  });
  if (existsSync(socketPath)) rmSync(socketPath);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  // LXD (root) connects on the instances' behalf; nobody else needs to.
  chmodSync(socketPath, 0o600);
  return server;
}

export function parseReport(body: string, secret: Buffer): AgentReport | undefined {
  const form = new URLSearchParams(body);
  const runner = form.get("name") ?? "";
  const key = form.get("key") ?? "";
  const state = form.get("state") ?? "";
  const atText = form.get("at") ?? "";
  if (!runner || !states.has(state) || !/^\d{1,12}$/.test(atText)) return undefined;
  const at = Number(atText);
  const want = Buffer.from(agentKey(secret, runner));
  const got = Buffer.from(key);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  const status: AgentStatus = { state: state as AgentState, since: at * 1000 };
  const job = form.get("job");
  if (job) status.job = job;
  return { runner, status };
}
