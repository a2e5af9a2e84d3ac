import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { allCommands, commandTree } from "./command-tree.js";
import { buildProgram } from "./main.js";
import { manPage } from "./man.js";

const program = buildProgram();
const page = manPage(program, new Date("2026-12-06T00:00:00Z"));
/** The page's text with roff's escapes undone, as a reader sees it. */
const text = page.replace(/\\-/g, "-").replace(/\\f[BIR]/g, "").replace(/\\e/g, "\\");

describe("runnerd man", () => {
  it("is a man(7) page dated as asked", () => {
    expect(page).toMatch(/^\.TH RUNNERD 1 2026-12-06 "runnerd \d+\.\d+\.\d+" "User Commands"\n\.SH NAME\n/);
    for (const section of ["SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"]) expect(page).toContain(`.SH ${section}\n`);
  });

  it("documents every command of the program with its options", () => {
    const commands = allCommands(commandTree(program));
    expect(commands.length).toBeGreaterThan(20);
    for (const command of commands) {
      expect(text, command.path.join(" ")).toContain(`runnerd ${command.path.join(" ")}`);
      for (const option of command.options.filter((o) => o.long !== "--help")) expect(text, `${command.path.join(" ")} ${option.flags}`).toContain(option.flags);
    }
    expect(text).toContain("-c, --config <file>");
  });

  it("has no line roff would read as a request by accident, and groff finds nothing to warn about", () => {
    for (const line of page.split("\n")) if (/^[.']/.test(line)) expect(line, line).toMatch(/^\.(TH|SH|SS|TP|PP|B|I)( |$)/);
    const groff = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-z"], { input: page, encoding: "utf8" });
    if (groff.error) return; // groff not installed
    expect(groff.stderr).toBe("");
  });
});
