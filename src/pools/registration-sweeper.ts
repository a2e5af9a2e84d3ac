// Periodically deletes the offline registrations runnerd left in GitHub (a crash between minting a
// JIT config and starting its instance, a failed delete): the pile-up of offline runners in
// GitHub's list is the most common complaint about runner managers.
import type { Logger } from "pino";
import { scopeKey, type Config } from "../config/index.js";
import { describeError } from "../errors.js";
import type { GitHubClients } from "../github/clients.js";
import { controllerLabel } from "../github/jit-labels.js";
import { staleRegistrations } from "../github/registration-sweep.js";
import type { RegisteredRunner } from "../github/connection-client.js";
import { keys } from "./ownership.js";
import type { LxdPort } from "./ports.js";
import { PeriodicTask } from "../schedule/periodic-task.js";
import { reconcilerSettings } from "./settings-from-config.js";

export interface SweepReport {
  at: number;
  /** Scopes looked at. */
  scopes: number;
  deleted: number;
  errors: string[];
}

export interface SweeperDeps {
  lxd: Pick<LxdPort, "listInstances">;
  clients: () => GitHubClients;
  config: () => Config;
  inFlight: () => Iterable<string>;
  logger: Logger;
  now: () => number;
  addEvent: (event: { level: "info" | "warn" | "error"; kind: string; message: string }) => void;
}

interface Group {
  connection: string;
  scope: RegisteredScope;
  namePrefixes: string[];
}
type RegisteredScope = { type: "repo"; repo: string } | { type: "org"; org: string };

export class RegistrationSweeper {
  private last: SweepReport | undefined;
  private readonly task: PeriodicTask<SweepReport>;

  constructor(private readonly deps: SweeperDeps) {
    this.task = new PeriodicTask(() => this.run(), () => deps.config().registration_sweep_interval);
  }

  /** First sweep after `delayMs` (a restart is when leftovers are likeliest), then every interval. */
  start(delayMs = 20_000): void {
    this.task.start(delayMs);
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  status(): SweepReport | undefined {
    return this.last;
  }

  /** One sweep now; concurrent callers share it. */
  sweep(): Promise<SweepReport> {
    return this.task.run();
  }

  private groups(config: Config): Group[] {
    const groups = new Map<string, Group>();
    for (const pool of reconcilerSettings(config).pools) {
      if (pool.credential !== "jit") continue;
      const key = `${pool.connection}|${scopeKey(pool.scopeRef)}`;
      const group = groups.get(key) ?? { connection: pool.connection, scope: pool.scopeRef, namePrefixes: [] as string[] };
      group.namePrefixes.push(`${pool.namePrefix}-${pool.spec.name}`);
      groups.set(key, group);
    }
    return [...groups.values()];
  }

  private async run(): Promise<SweepReport> {
    const config = this.deps.config();
    const report: SweepReport = { at: this.deps.now(), scopes: 0, deleted: 0, errors: [] };
    const groups = this.groups(config);
    if (groups.length === 0) return (this.last = report);
    // GitHub first, LXD second: a registration listed here was minted before its instance was
    // created and before the LXD listing below, so a live runner is always seen alive.
    const listed: { group: Group; runners: RegisteredRunner[] }[] = [];
    for (const group of groups) {
      const client = this.deps.clients().get(group.connection)?.client;
      if (!client) continue;
      try {
        listed.push({ group, runners: await client.listRunners(group.scope) });
      } catch (err) {
        report.errors.push(describeError(err));
      }
    }
    let live: Set<string>;
    try {
      const instances = await this.deps.lxd.listInstances({ configKey: keys.controller, value: config.controller_id });
      live = new Set([...instances.map((i) => i.name), ...this.deps.inFlight()]);
    } catch (err) {
      report.errors.push(`listing LXD instances failed: ${describeError(err)}`);
      return this.finish(report);
    }
    for (const { group, runners } of listed) {
      report.scopes++;
      const stale = staleRegistrations(runners, { namePrefixes: group.namePrefixes, controllerLabel: controllerLabel(config.controller_id), liveNames: live });
      const client = this.deps.clients().get(group.connection)?.client;
      for (const runner of stale) {
        try {
          // A runner that took a job since it was listed is kept (422, `busy`).
          if ((await client?.deleteRegistration(group.scope, runner.id)) === "busy") continue;
          report.deleted++;
          this.deps.logger.info({ runner: runner.name, githubRunnerId: runner.id, scope: scopeKey(group.scope) }, "deleted a leftover offline registration");
        } catch (err) {
          report.errors.push(describeError(err));
        }
      }
    }
    if (report.deleted > 0) this.deps.addEvent({ level: "info", kind: "registrations-swept", message: `deleted ${report.deleted} leftover offline runner registration(s) from GitHub` });
    return this.finish(report);
  }

  private finish(report: SweepReport): SweepReport {
    for (const error of report.errors) this.deps.logger.warn({ err: error }, "registration sweep: a step failed; retrying at the next sweep");
    this.last = report;
    return report;
  }
}
