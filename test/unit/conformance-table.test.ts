// docs/conformance.md names, for each situation, the integration test that asserts it: every
// named test must exist, word for word, in the file the row gives.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const table = readFileSync(join(root, "docs", "conformance.md"), "utf8");
const rows = table
  .split("\n")
  .filter((line) => line.startsWith("| ") && !line.startsWith("| situation"))
  .map((line) => line.split(" | ").at(-1)?.replace(/ \|$/, "") ?? "");

describe("docs/conformance.md", () => {
  it("has rows", () => {
    expect(rows.length).toBeGreaterThan(10);
  });

  it.each(rows)("%s names an existing integration test", (cell) => {
    const match = /^`([\w.-]+\.test\.ts)` › (.+)$/.exec(cell);
    expect(match, `row cell not in the form \`file.test.ts\` › title: ${cell}`).not.toBeNull();
    const [, file = "", title = ""] = match ?? [];
    const source = readFileSync(join(root, "test", "integration", file), "utf8");
    expect(source).toContain(`it("${title}"`);
  });
});
