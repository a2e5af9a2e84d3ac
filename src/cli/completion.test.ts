import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { allCommands, commandTree } from "./command-tree.js";
import { completionScript } from "./completion.js";
import { buildProgram } from "./main.js";

const program = buildProgram();
const tree = commandTree(program);
const commands = allCommands(tree);
const bash = completionScript(program, "bash");
const zsh = completionScript(program, "zsh");
const dir = mkdtempSync(join(tmpdir(), "runnerd-completion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash completes for the words typed so far (the last one being completed). */
function complete(...words: string[]): string[] {
  const script = join(dir, "runnerd.bash");
  writeFileSync(script, bash);
  const quoted = words.map((w) => `'${w}'`).join(" ");
  const run = spawnSync("bash", ["-c", `source ${script}; COMP_WORDS=(runnerd ${quoted}); COMP_CWORD=${words.length}; _runnerd; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: "utf8", cwd: dir });
  expect(run.stderr).toBe("");
  return run.stdout.split("\n").filter(Boolean);
}

describe("runnerd completion", () => {
  it("names every command and subcommand of the program, and every option", () => {
    expect(commands.map((c) => c.path.join(" "))).toEqual(expect.arrayContaining(["init", "up", "config check", "image build", "workflow print", "completion", "man", "help"]));
    for (const command of commands) {
      expect(bash, command.path.join(" ")).toContain(`"${command.path.join(" ")}")`);
      expect(zsh, command.path.join(" ")).toContain(`'${command.name}:`);
      for (const option of command.options) expect(bash, `${command.path.join(" ")} ${option.flags}`).toContain(option.long ?? option.short ?? "?");
    }
  });

  it("is a bash script bash accepts, and completes commands, subcommands, options and their values", () => {
    expect(spawnSync("bash", ["-n"], { input: bash }).status).toBe(0);
    expect(complete("")).toEqual(tree.commands.map((c) => c.name));
    expect(complete("con")).toEqual(["config"]);
    expect(complete("config", "")).toEqual(["check", "example", "schema"]);
    expect(complete("workflow", "print", "--via", "")).toEqual(["oidc", "ssh"]);
    expect(complete("--config", "/x", "image", "build", "--if")).toEqual(["--if-changed"]);
    expect(complete("completion", "")).toEqual(["bash", "zsh"]);
    expect(complete("init", "--pre")).toEqual(["--preseed"]);
    // A global option works after any command.
    expect(complete("status", "--conf")).toEqual(["--config"]);
  });

  it("passes shellcheck when it is installed", () => {
    const check = spawnSync("shellcheck", ["-s", "bash", "-"], { input: bash, encoding: "utf8" });
    if (check.error) return;
    expect(check.stdout).toBe("");
  });

  it("is a zsh completion function zsh accepts", () => {
    expect(zsh.startsWith("#compdef runnerd\n")).toBe(true);
    expect(zsh).toContain("_runnerd_workflow_print() {");
    expect(zsh).toContain("'--via[how the token reaches runnerd");
    const parsed = spawnSync("zsh", ["-n"], { input: zsh, encoding: "utf8" });
    if (parsed.error) return; // zsh not installed
    expect(parsed.stderr).toBe("");
    expect(parsed.status).toBe(0);
  });
});
