// `runnerd init --preseed FILE`: reads the answers from YAML, and reports every problem the way
// the config loader does (`file:line:column: field: message`). Also writes answers back out as a
// preseed, without the secrets, for the next machine.
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, stringify } from "yaml";
import { formatConfigIssues, formatPath, scopeKey } from "../../config/index.js";
import { locate } from "../../config/yaml-positions.js";
import { ConfigError, type ConfigIssue } from "../../errors.js";
import { answersSchema, type Answers } from "./answers.js";

export interface Preseed {
  answers: Answers;
  /** The file's text, to place problems found later (in the config it becomes). */
  text: string;
  fileName: string;
}

/** `FILE`, or `-` for stdin. */
export function loadPreseed(file: string): Preseed {
  let text: string;
  try {
    text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`--preseed ${file}: cannot read it: ${(err as Error).message}`, [], { cause: err });
  }
  const fileName = file === "-" ? "<stdin>" : file;
  return { answers: parsePreseed(text, fileName), text, fileName };
}

export function parsePreseed(text: string, fileName: string): Answers {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw preseedError(
      doc.errors.map((err) => {
        const at = err.linePos?.[0];
        const message = (err.message.split("\n")[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, "");
        return { file: fileName, line: at?.line ?? 1, column: at?.col ?? 1, path: "", message: `YAML syntax error: ${message}` };
      }),
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw preseedError([{ file: fileName, line: 1, column: 1, path: "", message: "a preseed is a YAML map with at least github: and pools:" }]);
  }
  const result = answersSchema.safeParse(data, { error: (issue) => (issue.code === "invalid_type" && issue.input === undefined ? "required" : undefined) });
  if (!result.success) {
    throw preseedError(
      result.error.issues.flatMap((issue) => {
        const paths = issue.code === "unrecognized_keys" ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
        const at = issue.code === "unrecognized_keys" || (issue.code === "custom" && issue.params?.at === "key") ? "key" : undefined;
        return paths.map((path) => ({
          file: fileName,
          ...locate(doc, lineCounter, path, at),
          path: formatPath(path),
          message: issue.code === "unrecognized_keys" ? `unknown key "${String(path.at(-1))}"` : issue.message,
        }));
      }),
    );
  }
  return result.data;
}

/** Where a problem found in the config init generated sits in the preseed that produced it. */
export function preseedIssue(preseed: Preseed, issue: ConfigIssue): ConfigIssue {
  const path = preseedPathOf(parsePath(issue.path), preseed.answers.github.name);
  const { text, fileName } = preseed;
  const message = `${issue.message}${issue.path ? ` (config: ${issue.path})` : ""}`;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return { file: fileName, ...locate(doc, lineCounter, path), path: formatPath(path), message };
}

/** `pools[0].instance.config["security.nesting"]` → its segments (format-issues.ts's formatPath, reversed). */
export function parsePath(text: string): PropertyKey[] {
  const segments: PropertyKey[] = [];
  for (const m of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g)) {
    segments.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3] ?? '""') as string)));
  }
  return segments;
}

/** The generated config's paths mapped back to the preseed's keys, as far as they correspond. */
function preseedPathOf(path: readonly PropertyKey[], connection: string): PropertyKey[] {
  const [section, second, third, ...rest] = path;
  if (section === "pools" && third === "runners") return ["pools", second as number, ...(rest.length > 0 ? rest.slice(0, 1) : [])];
  if (section === "pools") return path.filter((p) => p !== undefined) as PropertyKey[];
  if (section === "github" && second === connection) return third === "auth" ? ["github", ...rest.slice(0, 1)] : ["github", ...(third === undefined ? [] : [third])];
  if (section === "lxd" || section === "images") return [section === "images" ? "image" : "lxd", ...(section === "lxd" && second !== undefined ? [second] : [])];
  return section === undefined ? [] : ["settings", ...path];
}

function preseedError(issues: ConfigIssue[]): ConfigError {
  const sorted = issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return new ConfigError(formatConfigIssues(sorted), sorted);
}

/** The answers as a preseed file; secret values are left out (their files are named instead). */
export function dumpPreseed(answers: Answers): string {
  // The files stay named, so a rerun uses the secrets already written.
  const { token: _token, token_env: _env, webhook_secret: _secret, private_key_from: _from, ...github } = answers.github;
  const pools = answers.pools.map(({ name, scope, ...pool }) => ({ name, scope: scopeKey(scope), ...pool }));
  const out = {
    lxd: answers.lxd,
    github,
    pools,
    image: answers.image,
    ...(Object.keys(answers.settings).length > 0 ? { settings: answers.settings } : {}),
    doctor: answers.doctor,
  };
  return `# runnerd init --preseed FILE: the answers of this run (secret values left out; their files are named).\n${stringify(out)}`;
}
