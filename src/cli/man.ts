// `runnerd man`: the manual page (roff, man(7) macros) generated from the commander program, so
// it lists exactly the commands and options `--help` shows. The Debian package ships it as
// /usr/share/man/man1/runnerd.1.gz (scripts/build-deb.sh).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { allCommands, commandTree, type CommandNode } from "./command-tree.js";
import { defaultConfigPath } from "./context.js";

export function registerManCommand(program: Command): void {
  program
    .command("man")
    .description("print runnerd's manual page (roff): runnerd man | man -l -")
    .action(() => {
      process.stdout.write(manPage(program));
    });
}

/** The page; its date is SOURCE_DATE_EPOCH's when set (reproducible packages), else today's. */
export function manPage(program: Command, now: Date = pageDate()): string {
  const root = commandTree(program);
  const date = now.toISOString().slice(0, 10);
  return [
    `.TH RUNNERD 1 ${date} "runnerd ${version()}" "User Commands"`,
    ".SH NAME",
    `runnerd \\- ${roff(root.description)}`,
    ".SH SYNOPSIS",
    ".B runnerd",
    "[\\fB\\-c\\fR \\fIfile\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]",
    ".SH DESCRIPTION",
    "runnerd keeps pools of ephemeral self-hosted GitHub Actions runners in LXD or Incus system containers: each runner runs one job and is then deleted.",
    "It is one program with two faces: the daemon (\\fBrunnerd up\\fR, run by systemd as runnerd.service) and the commands below for the operator.",
    "\\fBrunnerd init\\fR writes a first configuration; \\fBrunnerd doctor\\fR checks everything runnerd depends on.",
    ".SH GLOBAL OPTIONS",
    ...root.options.flatMap(optionItem),
    ".SH COMMANDS",
    ...allCommands(root).flatMap(commandItem),
    ".SH EXIT STATUS",
    "0 on success; 2 when the command line, the configuration or other input needs fixing; 1 on any other failure.",
    ".SH ENVIRONMENT",
    ".TP",
    ".B RUNNERD_CONFIG",
    `The configuration file when \\fB\\-\\-config\\fR is not given (default \\fI${roff(defaultConfigPath)}\\fR).`,
    ".SH FILES",
    ...fileItems(),
    ".SH SEE ALSO",
    "\\fBlxc\\fR(1), \\fBincus\\fR(1), \\fBsystemctl\\fR(1); the operator guide and configuration reference in \\fI/usr/share/doc/runnerd/README.md\\fR; \\fBrunnerd config example\\fR prints a commented configuration.",
    "",
  ].join("\n");
}

function commandItem(node: CommandNode): string[] {
  const usage = node.commands.length > 0 ? `${node.path.join(" ")} \\fIcommand\\fR` : `${node.path.join(" ")} ${roff(node.usage)}`.trim();
  return [".SS", `\\fBrunnerd ${usage}\\fR`, ".PP", roff(node.description), ...node.options.filter((o) => o.long !== "--help").flatMap(optionItem)];
}

function optionItem(option: { flags: string; description: string; choices: readonly string[] }): string[] {
  const choices = option.choices.length > 0 ? ` (one of: ${option.choices.join(", ")})` : "";
  return [".TP", `.B ${roff(option.flags)}`, `${roff(option.description)}${roff(choices)}`];
}

function fileItems(): string[] {
  const files: [string, string][] = [
    [defaultConfigPath, "the configuration (YAML; mode 0640, root:runnerd). \\fBrunnerd init\\fR writes it; \\fBrunnerd config check\\fR validates it."],
    ["/etc/runnerd/github-pat, /etc/runnerd/app.pem, /etc/runnerd/webhook-secret", "secret files named by the configuration: mode 0600, owned by the runnerd user, or runnerd refuses to start."],
    ["/var/lib/runnerd", "state_dir: the SQLite store (runner history, pushed tokens), status.json, runner logs, the runner tarball cache."],
    ["/usr/share/runnerd/runnerd-config.schema.json", "the configuration's JSON Schema, for editors."],
    ["/usr/share/doc/runnerd/config.example.yaml", "a commented example configuration."],
  ];
  return files.flatMap(([path, text]) => [".TP", `.I ${roff(path)}`, text]);
}

/** Text safe in a roff line: backslashes and hyphens escaped, no line starting a request. */
function roff(text: string): string {
  const escaped = text.replace(/\\/g, "\\e").replace(/-/g, "\\-");
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

function pageDate(): Date {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  return Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date();
}

/** package.json's version, found above this module in a checkout (src/cli/) or a build (dist/src/cli/). */
function version(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return (JSON.parse(readFileSync(file, "utf8")) as { version?: string }).version ?? "unknown";
  }
  return "unknown";
}
