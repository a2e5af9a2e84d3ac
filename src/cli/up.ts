// `runnerd up`: the daemon in the foreground (systemd runs it as a simple service).
// SIGHUP reloads the configuration, SIGUSR1 asks for a pass, SIGTERM/SIGINT stop it cleanly within
// `shutdown_timeout` (daemon/shutdown.ts), even with LXD calls hanging.
import type { Command } from "commander";
import { startDaemon } from "../daemon/daemon.js";
import { describeError } from "../errors.js";
import { configPath, type GlobalOptions } from "./context.js";

export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description("run the daemon in the foreground: keep every pool's runners alive")
    .action(async () => {
      const daemon = await startDaemon({ configPath: configPath(program.opts<GlobalOptions>()) });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        daemon.logger.info({ signal }, "signal received");
        // The shutdown bounds its own waits; this only catches a bug that would still hang it.
        const timeoutMs = daemon.config().shutdown_timeout;
        setTimeout(() => {
          daemon.logger.error({ timeoutMs }, "shutdown did not finish within shutdown_timeout; exiting anyway");
          process.exit(1);
        }, timeoutMs).unref();
        daemon.shutdown().then(
          () => process.exit(0),
          (err: unknown) => {
            daemon.logger.error({ err: describeError(err) }, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGHUP", () => daemon.reload());
      process.on("SIGUSR1", () => daemon.reconciler.requestPass("SIGUSR1"));
      await new Promise<never>(() => undefined);
    });
}
