// Turns config issues and issue paths into the text operators read.
import type { ConfigIssue } from "../errors.js";

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `pools[1].runners.floor`; keys that are not plain words are quoted: `config["security.nesting"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else {
      const key = String(segment);
      text += identifier.test(key) ? `${text === "" ? "" : "."}${key}` : `[${JSON.stringify(key)}]`;
    }
  }
  return text;
}

/** One line per issue: `file:line:col: path: message` (the path is left out for whole-file problems). */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((issue) => `${issue.file}:${issue.line}:${issue.column}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`)
    .join("\n");
}

/** One line per warning, `file:line:col: path: message`, as `config check` prints them. */
export function formatWarnings(issues: readonly ConfigIssue[]): string[] {
  return issues.map((issue) => formatConfigIssues([issue]));
}
