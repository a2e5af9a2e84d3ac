// Runners written off because their cluster member stayed offline (plan.ts): each is recorded once
// in the history, with its job when it had one, and its JIT registration is deleted so GitHub
// sends it nothing more. Its instance stays until the member is back; then the usual passes
// collect it (it may have run on: only the member's daemon may have died).
import type { Logger } from "pino";
import { describeError } from "../errors.js";
import type { HistoryPort, RegistrarPort } from "./ports.js";
import type { ObservedRunner } from "./types.js";

export class MemberLoss {
  private readonly writtenOff = new Set<string>();

  constructor(private readonly ports: { history: HistoryPort; registrar?: RegistrarPort; now: () => number }) {}

  /** The plan's lost runners of this pass; a runner no longer lost (its member came back) may be written off again later. */
  note(lost: readonly ObservedRunner[], log: Logger): void {
    const names = new Set(lost.map((r) => r.name));
    for (const name of this.writtenOff) if (!names.has(name)) this.writtenOff.delete(name);
    for (const runner of lost) {
      if (this.writtenOff.has(runner.name)) continue;
      this.writtenOff.add(runner.name);
      this.writeOff(runner, log.child({ pool: runner.pool, runner: runner.name, member: runner.member }));
    }
  }

  private writeOff(runner: ObservedRunner, log: Logger): void {
    const { history, registrar, now } = this.ports;
    const job = runner.phase === "busy" ? ` while running ${runner.job ? `job "${runner.job}"` : "a job"}` : "";
    const message = `member ${runner.member ?? "?"} offline too long: runner written off${job} and replaced on a live member`;
    log.warn({ phase: runner.phase }, "runner written off: its cluster member is offline");
    history.addEvent({ level: runner.phase === "busy" ? "error" : "warn", kind: "runner-lost", pool: runner.pool, runner: runner.name, message });
    history.recordRunnerResult(runner.name, { exitCode: null, jobSeen: runner.phase === "busy", outcome: "member-lost", detail: message, finishedAt: new Date(now()) });
    if (registrar && runner.githubRunnerId !== undefined && runner.connection !== undefined && runner.scope !== undefined) {
      registrar
        .deleteRegistration({ connection: runner.connection, scope: runner.scope, runnerId: runner.githubRunnerId })
        .then((result) => log.info({ result }, "registration of the written-off runner deleted"))
        .catch((err: unknown) => log.warn({ err: describeError(err) }, "cannot delete the written-off runner's registration; the registration sweep retries"));
    }
  }
}
