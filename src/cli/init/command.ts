// `runnerd init`: registers the command; the work is run.ts's.
import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { configPath, type GlobalOptions } from "../context.js";
import { childRunnerd } from "./finish.js";
import { terminalPrompter } from "./prompt.js";
import { runInit } from "./run.js";

interface InitFlags {
  preseed?: string;
  force?: boolean;
  dryRun?: boolean;
  user?: string;
  doctor: boolean;
  buildImage?: boolean;
}

export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .description("write a first configuration: asks on a terminal (or reads --preseed FILE), writes the secret files and the config, then runs doctor")
    .option("--preseed <file>", "read the answers from this YAML file ('-': stdin) instead of asking")
    .option("--force", "replace an existing configuration and the secret files init writes")
    .option("--dry-run", "print the configuration init would write, and write nothing")
    .option("--user <name>", "the user runnerd runs as, owner of the secret files (default: runnerd when run as root)")
    .option("--build-image", "build the pools' runner image once the configuration is written")
    .option("--no-doctor", "do not run runnerd doctor at the end")
    .action(async (flags: InitFlags) => {
      await runInitCommand(program, flags);
    });
}

async function runInitCommand(program: Command, flags: InitFlags): Promise<void> {
  try {
    await runInit(
      {
        configPath: configPath(program.opts<GlobalOptions>()),
        ...(flags.preseed !== undefined ? { preseed: flags.preseed } : {}),
        ...(flags.user !== undefined ? { user: flags.user } : {}),
        force: flags.force === true,
        dryRun: flags.dryRun === true,
        doctor: flags.doctor,
        buildImage: flags.buildImage === true,
      },
      {
        prompter: process.stdin.isTTY ? () => terminalPrompter() : undefined,
        env: process.env,
        runnerd: childRunnerd,
        out: (text) => process.stdout.write(`${text}\n`),
      },
    );
  } catch (err) {
    // Ctrl+D at a question: readline rejects with an AbortError, which says nothing about init.
    if ((err as Error).name === "AbortError") throw new UsageError("init: input ended at a question (Ctrl+D); nothing more written");
    throw err;
  }
}
