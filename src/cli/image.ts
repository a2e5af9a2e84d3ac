// `runnerd image build|list|rm`: runner images built from the config's `images:` section.
import type { Command } from "commander";
import { connectLxd } from "../lxd/connect.js";
import { ConfigError, UsageError } from "../errors.js";
import { formatConfigIssues } from "../config/index.js";
import { buildConfiguredImage, findImageToRemove, listRunnerImages, poolImageTargets } from "../images/index.js";
import { loadCliConfig, type GlobalOptions } from "./context.js";
import { imageSourceReports, targetOf } from "./image-sources.js";
import { humanDuration, printJson, table } from "./output.js";

export function registerImageCommands(program: Command): void {
  const image = program.command("image").description("runner images: build them from the config's images: section, list, remove");
  image
    .command("build")
    .argument("<name>", "an image name from the images: section")
    .option("--if-changed", "do nothing when runnerd/NAME already holds an image of the same recipe and runner version")
    .option("--keep-failed-builder", "leave the builder instance in place when the build fails, for inspection")
    .description("build the image and publish it as runnerd/NAME; pools using that alias roll to it")
    .action(async (name: string, opts: { ifChanged?: boolean; keepFailedBuilder?: boolean }) => {
      const { path, config } = loadCliConfig(program.opts<GlobalOptions>());
      const lxd = await connectLxd(config.lxd);
      // A source this backend cannot use is refused here, with its line, before any builder exists.
      const [sourceReport] = imageSourceReports(config, path, targetOf(lxd), [name]);
      if (sourceReport?.issue) throw new ConfigError(`image build: ${formatConfigIssues([sourceReport.issue])}`, [sourceReport.issue]);
      const abort = new AbortController();
      const onSignal = (): void => {
        process.stderr.write("\n[runnerd] interrupted: removing the builder…\n");
        abort.abort();
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        const result = await buildConfiguredImage(lxd.client, config, name, {
          ...(opts.ifChanged ? { ifChanged: true } : {}),
          ...(opts.keepFailedBuilder ? { keepFailedBuilder: true } : {}),
          signal: abort.signal,
          progress: (text) => process.stdout.write(text),
        });
        const verb = result.built ? `built in ${humanDuration(result.durationMs)}` : "already current";
        console.log(`${result.alias}: ${result.image.fingerprint.slice(0, 12)}, actions/runner ${result.runnerVersion}, recipe ${result.recipe} (${verb})`);
        if (result.pruned.length > 0) console.log(`removed ${result.pruned.length} older unused image(s): ${result.pruned.map((f) => f.slice(0, 12)).join(", ")}`);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
  image
    .command("list")
    .option("--json", "machine-readable output")
    .description("runnerd's images with their runner version, age and the pools using them")
    .action(async (opts: { json?: boolean }) => {
      const { config } = loadCliConfig(program.opts<GlobalOptions>());
      const lxd = await connectLxd(config.lxd);
      const entries = await listRunnerImages(lxd.client, config);
      const now = Date.now();
      if (opts.json) {
        printJson(entries.map((e) => ({ ...e, builtAt: e.builtAt?.toISOString() ?? null })));
        return;
      }
      if (entries.length === 0) {
        console.log("no runnerd images yet; build one with: runnerd image build NAME");
        return;
      }
      console.log(table(["NAME", "ALIAS", "FINGERPRINT", "RUNNER", "AGE", "SIZE", "POOLS", "RUNNERS"], entries.map((e) => [
        e.name ?? "-",
        e.aliases.join(",") || "-",
        e.fingerprint.slice(0, 12),
        e.runnerVersion ?? "?",
        e.builtAt ? humanDuration(now - e.builtAt.getTime()) : "?",
        `${(e.sizeBytes / 1_048_576).toFixed(0)} MiB`,
        e.pools.join(",") || "-",
        String(e.runners),
      ])));
    });
  image
    .command("rm")
    .argument("<image>", "an image name, alias or fingerprint")
    .description("remove an image; refused while a configured pool uses it")
    .action(async (ref: string) => {
      const { path, config } = loadCliConfig(program.opts<GlobalOptions>());
      const lxd = await connectLxd(config.lxd);
      const { fingerprint, label } = await findImageToRemove(lxd.client, config, ref);
      const users = [...(await poolImageTargets(lxd.client, config, await lxd.client.listImages()))].filter(([, fp]) => fp === fingerprint).map(([pool]) => pool);
      if (users.length > 0) {
        throw new UsageError(`image rm: ${label} (${fingerprint.slice(0, 12)}) is used by pool(s) ${users.join(", ")} in ${path}; point them at another image first`);
      }
      await lxd.client.deleteImage(fingerprint);
      console.log(`removed ${label} (${fingerprint.slice(0, 12)})`);
    });
}
