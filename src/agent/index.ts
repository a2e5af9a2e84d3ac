// Locates the agent script shipped with runnerd, whether running from src/ (tests) or dist/.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function agentScriptPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "src", "agent", "runner-agent.sh");
    if (existsSync(candidate)) return candidate;
    const beside = join(dir, "runner-agent.sh");
    if (existsSync(beside)) return beside;
    dir = dirname(dir);
  }
  throw new Error("cannot find agent/runner-agent.sh next to runnerd's code");
}

export function readAgentScript(): string {
  return readFileSync(agentScriptPath(), "utf8");
}
