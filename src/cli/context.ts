// What most commands need: the configuration file's path and its loaded content.
import { loadConfig, type Config } from "../config/index.js";

export const defaultConfigPath = "/etc/runnerd/config.yaml";

export interface GlobalOptions {
  config?: string;
}

export function configPath(options: GlobalOptions): string {
  return options.config ?? process.env.RUNNERD_CONFIG ?? defaultConfigPath;
}

export function loadCliConfig(options: GlobalOptions): { path: string; config: Config } {
  const path = configPath(options);
  return { path, config: loadConfig(path) };
}
