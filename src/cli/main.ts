// runnerd's command line: one file per command group; errors become messages and exit codes
// (2: bad configuration or input, 1: anything else).
import { Command, CommanderError } from "commander";
import { ConfigError, UsageError, describeError } from "../errors.js";
import { registerCompletionCommand } from "./completion.js";
import { registerConfigCommands } from "./config-check.js";
import { defaultConfigPath } from "./context.js";
import { registerDemoCommand } from "./demo.js";
import { registerDoctorCommand } from "./doctor.js";
import { registerImageCommands } from "./image.js";
import { registerInitCommand } from "./init/command.js";
import { registerJobsCommand } from "./jobs.js";
import { registerLogsCommand } from "./logs.js";
import { registerManCommand } from "./man.js";
import { registerStatusCommands } from "./status.js";
import { registerTokenCommands } from "./token.js";
import { registerUpCommand } from "./up.js";
import { registerWorkflowCommands } from "./workflow.js";

export function buildProgram(): Command {
  const program = new Command("runnerd")
    .description("ephemeral self-hosted GitHub Actions runners in LXD/Incus containers, one job each")
    .option("-c, --config <file>", `configuration file (default: $RUNNERD_CONFIG or ${defaultConfigPath})`)
    .showHelpAfterError()
    .exitOverride();
  registerInitCommand(program);
  registerUpCommand(program);
  registerStatusCommands(program);
  registerJobsCommand(program);
  registerLogsCommand(program);
  registerTokenCommands(program);
  registerWorkflowCommands(program);
  registerConfigCommands(program);
  registerImageCommands(program);
  registerDoctorCommand(program);
  registerDemoCommand(program);
  registerCompletionCommand(program);
  registerManCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // Commander's refusals (unknown command or option, a missing argument) are bad input: 2,
    // as documented; help and --version exit 0.
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    // Exit 2: the operator's input (a flag, an argument, the config file) needs fixing.
    if (err instanceof ConfigError || err instanceof UsageError) {
      console.error(`runnerd: ${err.message}`);
      process.exit(2);
    }
    console.error(`runnerd: ${describeError(err)}`);
    process.exit(1);
  }
}
