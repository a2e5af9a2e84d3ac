// Locates the files runnerd puts into runner images and instances (the agent script and its
// systemd unit), whether running from src/ (tests) or dist/.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function agentFilePath(file: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "src", "agent", file);
    if (existsSync(candidate)) return candidate;
    const beside = join(dir, file);
    if (existsSync(beside)) return beside;
    dir = dirname(dir);
  }
  throw new Error(`cannot find agent/${file} next to runnerd's code`);
}

export function agentScriptPath(): string {
  return agentFilePath("runner-agent.sh");
}

export function readAgentScript(): string {
  return readFileSync(agentScriptPath(), "utf8");
}

/** The systemd unit that starts the agent once at boot in systemd-based images. */
export function readAgentUnit(): string {
  return readFileSync(agentFilePath("runnerd-agent.service"), "utf8");
}
