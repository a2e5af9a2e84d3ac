// `runnerd demo`: placeholder wiring; the demo itself lives in demo/run-demo.ts.
import type { Command } from "commander";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run a self-contained demo against a local GitHub emulator and LXD")
    .action(async () => {
      const { runDemo } = await import("./demo/run-demo.js");
      await runDemo();
    });
}
