// The house rules, checked on every run: small files and functions in src/, imports only downward
// through the layers below, no import cycle, and no test code reachable from what ships.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const src = join(root, "src");

/**
 * Each top-level part of src/ and the layer it sits in: a module may import from its own folder
 * and from lower layers only. Equal layers do not import each other.
 */
const layers: Record<string, number> = {
  "errors.ts": 0,
  "log.ts": 0,
  schedule: 0,
  config: 1,
  agent: 2,
  lxd: 2,
  credentials: 2,
  github: 3,
  store: 3,
  images: 4,
  pools: 5,
  jobs: 6,
  http: 7,
  emulator: 8,
  daemon: 9,
  demo: 10,
  cli: 11,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !isTestCode(path) ? [path] : [];
  });
}

/** Tests and their helpers (`test-support.ts`, beside the code they fake): never built into dist/. */
function isTestCode(path: string): boolean {
  return path.endsWith(".test.ts") || path.endsWith("/test-support.ts");
}

function part(file: string): string {
  return relative(src, file).split("/")[0] ?? "";
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    found.push(normalize(join(dirname(file), m[1]!.replace(/\.js$/, ".ts"))));
  }
  return found;
}

function longFunctions(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2023, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (end - start + 1 > 80) found.push(`${relative(root, file)}:${start + 1} (${end - start + 1} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const files = sourceFiles(src);

describe("house rules", () => {
  it("knows the layer of every part of src/", () => {
    expect([...new Set(files.map(part))].filter((p) => layers[p] === undefined)).toEqual([]);
  });

  it("keeps every file in src/ at 300 lines or fewer", () => {
    const long = files.map((f) => [relative(root, f), readFileSync(f, "utf8").split("\n").length - 1] as const).filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });

  it("keeps every function in src/ at 80 lines or fewer", () => {
    expect(files.flatMap(longFunctions)).toEqual([]);
  });

  it("imports only downward, and never test code", () => {
    const wrong: string[] = [];
    for (const file of files) {
      for (const target of relativeImports(file)) {
        if (!target.startsWith(src + "/") || isTestCode(target)) {
          wrong.push(`${relative(root, file)} imports ${relative(root, target)} (outside src/ or test code)`);
          continue;
        }
        const from = part(file);
        const to = part(target);
        if (from !== to && !(layers[to]! < layers[from]!)) wrong.push(`${relative(root, file)} (${from}) imports ${relative(root, target)} (${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("has no import cycle between modules", () => {
    const graph = new Map(files.map((f) => [f, relativeImports(f).filter((t) => t.startsWith(src + "/"))]));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const walk = (file: string) => {
      state.set(file, "open");
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === "open") cycles.push(stack.slice(stack.indexOf(next)).concat(next).map((f) => relative(src, f)).join(" -> "));
        else if (!state.has(next)) walk(next);
      }
      stack.pop();
      state.set(file, "done");
    };
    for (const file of files) if (!state.has(file)) walk(file);
    expect(cycles).toEqual([]);
  });
});
