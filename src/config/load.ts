// Reads and validates the config file into a deeply frozen Config, or throws a ConfigError
// listing every problem with its file, line, column and path. Warnings (deprecated keys, OIDC
// push rules that pin no workflow) are placed the same way and returned beside the Config.
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import type { Document } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.js";
import type { ConfigIssue } from "../errors.js";
import { findDeprecations } from "./deprecations.js";
import { formatConfigIssues, formatPath } from "./format-issues.js";
import { deepFreeze } from "./freeze.js";
import { findUnpinnedOidcRules } from "./oidc-rule-warnings.js";
import { configSchema, type Config } from "./schema.js";
import { locate } from "./yaml-positions.js";

export interface LoadedConfig {
  config: Config;
  /** Problems that do not stop the file from loading, e.g. a deprecated key; in file order. */
  warnings: ConfigIssue[];
}

export function loadConfig(file: string): Config {
  return loadConfigWithWarnings(file).config;
}

export function parseConfig(text: string, fileName: string): Config {
  return parseConfigWithWarnings(text, fileName).config;
}

export function loadConfigWithWarnings(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`${file}: cannot read config file: ${(err as Error).message}`, [], { cause: err });
  }
  return parseConfigWithWarnings(text, file);
}

export function parseConfigWithWarnings(text: string, fileName: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    // Data from a broken document is a guess; schema errors on it would only add noise.
    throw configError(doc.errors.map((err) => syntaxIssue(err, fileName)));
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    throw configError([{ file: fileName, line: 1, column: 1, path: "", message: (err as Error).message }]);
  }
  if (data === null || data === undefined) {
    throw configError([{ file: fileName, line: 1, column: 1, path: "", message: "the file is empty; at least github and pools are required" }]);
  }
  const result = configSchema.safeParse(data, { error: requiredMessage });
  if (!result.success) {
    throw configError(result.error.issues.flatMap((issue) => placeIssue(issue, doc, lineCounter, fileName)));
  }
  const found = [...findDeprecations(data), ...findUnpinnedOidcRules(data)];
  const warnings = found.map(({ path, message }) => ({
    file: fileName,
    ...locate(doc, lineCounter, path, "key"),
    path: formatPath(path),
    message,
  }));
  return { config: deepFreeze(result.data), warnings: warnings.sort((a, b) => a.line - b.line || a.column - b.column) };
}

function configError(issues: ConfigIssue[]): ConfigError {
  const sorted = issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return new ConfigError(formatConfigIssues(sorted), sorted);
}

function requiredMessage(issue: z.core.$ZodRawIssue): string | undefined {
  return issue.code === "invalid_type" && issue.input === undefined ? "required" : undefined;
}

function syntaxIssue(err: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }, file: string): ConfigIssue {
  const position = err.linePos?.[0];
  // yaml appends " at line L, column C:" and a source excerpt; the position has its own fields.
  const message = (err.message.split("\n")[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, "");
  return { file, line: position?.line ?? 1, column: position?.col ?? 1, path: "", message: `YAML syntax error: ${message}` };
}

function placeIssue(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter, file: string): ConfigIssue[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return { file, ...locate(doc, lineCounter, path, "key"), path: formatPath(path), message: `unknown key "${key}"` };
    });
  }
  // zod says only "Invalid key in record"; the key schema's own message says what is wrong.
  if (issue.code === "invalid_key") {
    const message = issue.issues.map((inner) => inner.message).join("; ") || issue.message;
    return [{ file, ...locate(doc, lineCounter, issue.path, "key"), path: formatPath(issue.path), message }];
  }
  const at = issue.code === "custom" && issue.params?.at === "key" ? "key" : undefined;
  return [{ file, ...locate(doc, lineCounter, issue.path, at), path: formatPath(issue.path), message: issue.message }];
}
