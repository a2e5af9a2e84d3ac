// The commander program as plain data (commands, their arguments and options), read through
// commander's own Help so that completions and the man page show exactly what `--help` shows.
import type { Command, Help, Option } from "commander";

export interface OptionNode {
  /** As written in help: `-c, --config <file>`. */
  flags: string;
  long?: string;
  short?: string;
  description: string;
  /** Takes a value (`<x>` or `[x]`). */
  takesValue: boolean;
  /** Allowed values, when commander knows them (`.choices()`). */
  choices: readonly string[];
  /** The value names a file (`<file>`), so shells complete file names. */
  fileValue: boolean;
}

export interface ArgumentNode {
  name: string;
  required: boolean;
  variadic: boolean;
  choices: readonly string[];
  /** The argument names a file, so shells complete file names. */
  fileValue: boolean;
}

export interface CommandNode {
  /** Words after `runnerd`: [] for the program, ["config", "check"] for `runnerd config check`. */
  path: string[];
  name: string;
  description: string;
  /** `[options] <name>`, as commander prints it. */
  usage: string;
  options: OptionNode[];
  arguments: ArgumentNode[];
  commands: CommandNode[];
}

/** The whole program; the implicit `help` command is kept at the top level only, where it is documented. */
export function commandTree(program: Command): CommandNode {
  return walk(program, program.createHelp(), []);
}

/** Every command below the root, depth first, in help order. */
export function allCommands(node: CommandNode): CommandNode[] {
  return node.commands.flatMap((child) => [child, ...allCommands(child)]);
}

function walk(command: Command, help: Help, path: string[]): CommandNode {
  const commands = help
    .visibleCommands(command)
    .filter((child) => path.length === 0 || child.name() !== "help")
    .map((child) => walk(child, help, [...path, child.name()]));
  return {
    path,
    name: command.name(),
    description: command.description(),
    usage: command.usage(),
    options: help.visibleOptions(command).map(optionNode),
    arguments: command.registeredArguments.map((arg) => ({
      name: arg.name(),
      required: arg.required,
      variadic: arg.variadic,
      choices: arg.argChoices ?? [],
      fileValue: /file/i.test(arg.name()),
    })),
    commands,
  };
}

function optionNode(option: Option): OptionNode {
  const value = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1] ?? "";
  return {
    flags: option.flags,
    ...(option.long ? { long: option.long } : {}),
    ...(option.short ? { short: option.short } : {}),
    description: option.description,
    takesValue: option.required || option.optional,
    choices: option.argChoices ?? [],
    // `logs --file <file>` names one of a runner's saved logs, not a path on this machine.
    fileValue: /file/i.test(value) && option.long !== "--file",
  };
}
