// `runnerd config check [FILE]`: validates a configuration file and reports every problem, and
// warnings such as deprecated keys.
import type { Command } from "commander";
import { exampleConfig, formatWarnings, loadConfigWithWarnings } from "../config/index.js";
import { configPath, type GlobalOptions } from "./context.js";

export function registerConfigCommands(program: Command): void {
  const config = program.command("config").description("check or print configuration");
  config
    .command("check")
    .argument("[file]", "configuration file (default: --config, $RUNNERD_CONFIG or /etc/runnerd/config.yaml)")
    .description("validate a configuration file; prints every problem (and warning) with file, line, column and field")
    .action((file: string | undefined) => {
      const path = file ?? configPath(program.opts<GlobalOptions>());
      const { config: loaded, warnings } = loadConfigWithWarnings(path);
      for (const warning of formatWarnings(warnings)) console.error(`warning: ${warning}`);
      const warned = warnings.length > 0 ? `, ${warnings.length} warning(s)` : "";
      console.log(`${path}: valid (${loaded.pools.length} pool(s), ${Object.keys(loaded.github).length} connection(s)${warned})`);
    });
  config
    .command("example")
    .description("print a commented example configuration")
    .action(() => {
      process.stdout.write(exampleConfig());
    });
}
