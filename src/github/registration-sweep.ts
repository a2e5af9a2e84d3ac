// Which registrations in GitHub are runnerd's leftovers: offline, idle, named like a runner of one
// of this controller's pools, carrying its label, and with no instance behind them. Pure; the
// daemon lists GitHub first and LXD second, so a runner spawned in between is never mistaken.
import { RUNNER_NAME_SUFFIX_LENGTH } from "../config/index.js";
import type { RegisteredRunner } from "./connection-client.js";

export interface SweepInput {
  /** `<name_prefix>-<pool>` of every pool of this controller on the scope. */
  namePrefixes: readonly string[];
  controllerLabel: string;
  /** Instances that exist (or are being created) right now. */
  liveNames: ReadonlySet<string>;
}

export function staleRegistrations(registered: readonly RegisteredRunner[], input: SweepInput): RegisteredRunner[] {
  const patterns = input.namePrefixes.map((prefix) => new RegExp(`^${escape(prefix)}-[a-z0-9]{${RUNNER_NAME_SUFFIX_LENGTH}}$`));
  const label = input.controllerLabel.toLowerCase();
  return registered.filter(
    (runner) =>
      runner.status === "offline" &&
      !runner.busy &&
      !input.liveNames.has(runner.name) &&
      patterns.some((p) => p.test(runner.name)) &&
      runner.labels.some((l) => l.toLowerCase() === label),
  );
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
