// Builds /opt/runnerd/runner.json, the one secret file the agent reads and deletes at boot.
import { TerminalError } from "../errors.js";

export interface RunnerConfigInput {
  url: string;
  name: string;
  labels: readonly string[];
  /** config.sh registers without `self-hosted`, OS and architecture (pool `default_labels: false`). */
  noDefaultLabels?: boolean;
  runnerGroup?: string;
  token?: string;
  jitconfig?: string;
  /** Only in the caller's credential object; not written to the file. */
  githubRunnerId?: number;
  workFolder?: string;
}

// The agent reads this file with sed under busybox, one key per line; values must therefore be
// free of quotes, backslashes and line breaks. Refuse rather than write something it misreads.
const unsafe = /["\\\n\r]/;

export function renderRunnerConfig(input: RunnerConfigInput): string {
  const fields: [string, string][] = [
    ["url", input.url],
    ["name", input.name],
    ["labels", input.labels.join(",")],
    ["runner_group", input.runnerGroup ?? ""],
    ["no_default_labels", input.noDefaultLabels ? "true" : ""],
    ["token", input.token ?? ""],
    ["jitconfig", input.jitconfig ?? ""],
    ["work_folder", input.workFolder ?? "_work"],
  ];
  for (const [key, value] of fields) {
    if (unsafe.test(value)) throw new TerminalError(`runner.json field ${key} contains a quote, backslash or line break`);
  }
  const lines = fields.map(([key, value], i) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)}${i < fields.length - 1 ? "," : ""}`);
  return `{\n${lines.join("\n")}\n}\n`;
}
