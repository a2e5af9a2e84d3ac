// `runnerd config check [FILE]`: validates a configuration file and reports every problem, and
// warnings such as deprecated keys; `config example` and `config schema` print a commented
// example and the file's JSON Schema. Image sources are checked against the backend that answers on
// the configured socket (LXD or Incus); when none answers, against both.
import type { Command } from "commander";
import { configJsonSchemaText, exampleConfig, formatConfigIssues, formatWarnings, loadConfigWithWarnings, type Config } from "../config/index.js";
import { ConfigError, describeError, type ConfigIssue } from "../errors.js";
import type { SourceTarget } from "../images/index.js";
import { connectLxd } from "../lxd/connect.js";
import { configPath, type GlobalOptions } from "./context.js";
import { imageSourceReports, targetOf } from "./image-sources.js";

export function registerConfigCommands(program: Command): void {
  const config = program.command("config").description("check or print configuration, its example or its JSON Schema");
  config
    .command("check")
    .argument("[file]", "configuration file (default: --config, $RUNNERD_CONFIG or /etc/runnerd/config.yaml)")
    .description("validate a configuration file; prints every problem (and warning) with file, line, column and field")
    .action(async (file: string | undefined) => {
      const path = file ?? configPath(program.opts<GlobalOptions>());
      const { config: loaded, warnings } = loadConfigWithWarnings(path);
      const sources = await checkImageSources(loaded, path);
      const all = [...warnings, ...sources.warnings].sort((a, b) => a.line - b.line || a.column - b.column);
      for (const warning of formatWarnings(all)) console.error(`warning: ${warning}`);
      if (sources.note) console.error(`note: ${sources.note}`);
      if (sources.errors.length > 0) throw new ConfigError(formatConfigIssues(sources.errors), sources.errors);
      const warned = all.length > 0 ? `, ${all.length} warning(s)` : "";
      console.log(`${path}: valid (${loaded.pools.length} pool(s), ${Object.keys(loaded.github).length} connection(s)${warned})`);
    });
  config
    .command("example")
    .description("print a commented example configuration")
    .action(() => {
      process.stdout.write(exampleConfig());
    });
  config
    .command("schema")
    .description("print the configuration file's JSON Schema (draft-07), for editors such as VS Code's YAML extension")
    .action(() => {
      process.stdout.write(configJsonSchemaText());
    });
}

/**
 * Sources the backend cannot use are errors. Without a backend to ask, a source neither LXD nor
 * Incus can use is an error, and one only the other backend can use a warning.
 */
async function checkImageSources(config: Config, path: string): Promise<{ errors: ConfigIssue[]; warnings: ConfigIssue[]; note?: string }> {
  if (Object.keys(config.images).length === 0) return { errors: [], warnings: [] };
  const found = await backendTarget(config);
  if ("target" in found) {
    return { errors: issuesFor(config, path, found.target), warnings: [] };
  }
  const lxd = issuesFor(config, path, { backend: "lxd", version: "" });
  const incus = issuesFor(config, path, { backend: "incus", version: "" });
  const both = lxd.filter((issue) => incus.some((other) => other.path === issue.path));
  const onlyOne = [...lxd, ...incus].filter((issue) => !both.some((b) => b.path === issue.path));
  return {
    errors: both,
    warnings: onlyOne,
    note: `image sources not checked against this host's backend (${found.reason}); checked for current LXD and Incus`,
  };
}

function issuesFor(config: Config, path: string, target: SourceTarget): ConfigIssue[] {
  return imageSourceReports(config, path, target).flatMap((report) => (report.issue ? [report.issue] : []));
}

/** The backend on the configured socket, asked for at most 5 s. */
async function backendTarget(config: Config): Promise<{ target: SourceTarget } | { reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer within 5 s")), 5_000);
    timer.unref();
  });
  try {
    const lxd = await Promise.race([connectLxd(config.lxd), timeout]);
    await lxd.client.close().catch(() => undefined);
    return { target: targetOf(lxd) };
  } catch (err) {
    return { reason: `LXD or Incus is not reachable: ${describeError(err)}` };
  } finally {
    clearTimeout(timer);
  }
}
