// `runnerd image build NAME`: resolve and cache the runner release, launch a Docker-ready builder
// instance, run the recipe with live progress, publish the result as `runnerd/NAME`, and remove
// the builder on every path (failure and Ctrl-C included).
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { readAgentScript, readAgentUnit } from "../agent/index.js";
import type { ImageConfig } from "../config/index.js";
import { describeError } from "../errors.js";
import type { Image, LxdClient } from "../lxd/index.js";
import { acquireBuildLock } from "./build-lock.js";
import { DOCKER_READY_CONFIG } from "./docker-ready.js";
import { BUILD_DIR, buildPaths, recipeHash, renderBuildScript } from "./recipe.js";
import { cachedRunnerTarball } from "./runner-cache.js";
import { resolveRunnerRelease } from "./runner-release.js";
import { checkBuildSource, imageAlias, lxdImageSource, sourceRefusal, type BuildSource, type ImageRemote } from "./source.js";
import { imageProperties, propertyKeys } from "./properties.js";

/** Marks builder instances, so a later build can remove one a crash left behind. */
export const BUILDER_KEY = "user.runnerd.builder";

export interface BuildOptions {
  image: ImageConfig;
  /** The connection's REST API base, where runner releases are looked up. */
  apiUrl: string;
  storagePool: string;
  /** state_dir/cache: runner tarballs. */
  cacheDir: string;
  /** Skip the build when the alias already holds an image of the same recipe. */
  ifChanged?: boolean;
  /** Leave the builder instance in place when the build fails (for debugging). */
  keepFailedBuilder?: boolean;
  signal?: AbortSignal;
  /** Human-readable progress: the recipe's output as it comes, and runnerd's own steps. */
  progress: (text: string) => void;
  /** Image servers beyond the backend's standard remotes, by remote name (`name:alias` sources). */
  remotes?: Readonly<Record<string, ImageRemote>>;
}

export interface BuildResult {
  alias: string;
  image: Image;
  runnerVersion: string;
  recipe: string;
  /** False when `ifChanged` found the image current. */
  built: boolean;
  tarballReused: boolean;
  durationMs: number;
  /** Old images of this name removed afterwards (no alias, no instance using them). */
  pruned: string[];
}

export class BuildFailed extends Error {
  override readonly name = "BuildFailed";
}

export async function buildImage(lxd: LxdClient, opts: BuildOptions): Promise<BuildResult> {
  const started = performance.now();
  const { image, source } = await resolveSource(lxd, opts);
  const alias = imageAlias(image.name);
  const say = (line: string): void => opts.progress(`[runnerd] ${line}\n`);

  say(`resolving actions/runner ${image.runner.version} (${image.runner.arch})`);
  const release = await resolveRunnerRelease({ apiUrl: opts.apiUrl }, image.runner.version, image.runner.arch);
  const tarball = await cachedRunnerTarball(release, opts.cacheDir);
  say(`${release.filename}: ${tarball.reused ? "cached" : "downloaded"}, sha256 ${release.sha256.slice(0, 16)}… verified`);

  const proxy = builderProxy(image.proxy);
  const agentScript = readAgentScript();
  const agentUnit = readAgentUnit();
  const script = renderBuildScript({ image, runnerVersion: release.version, proxyUrl: proxy?.insideUrl });
  const recipe = recipeHash({ image, runnerSha256: release.sha256, agentScript, agentUnit, runnerVersion: release.version });

  if (opts.ifChanged) {
    const current = await currentImage(lxd, alias);
    if (current?.properties[propertyKeys.recipe] === recipe) {
      say(`${alias} is current (recipe ${recipe}, actions/runner ${release.version}); nothing to build`);
      return { alias, image: current, runnerVersion: release.version, recipe, built: false, tarballReused: tarball.reused, durationMs: Math.round(performance.now() - started), pruned: [] };
    }
  }

  const releaseLock = acquireBuildLock(opts.cacheDir, image.name);
  const builder = `runnerd-build-${image.name}-${randomBytes(3).toString("hex")}`.slice(0, 63);
  let succeeded = false;
  try {
    await removeLeftoverBuilders(lxd, image.name, say);
    throwIfAborted(opts.signal);
    say(`creating builder ${builder} from ${image.source}`);
    const devices: Record<string, Record<string, string>> = { root: { type: "disk", path: "/", pool: opts.storagePool } };
    if (proxy?.device) devices["runnerd-proxy"] = proxy.device;
    await lxd.createInstance({
      name: builder,
      source: lxdImageSource(source),
      profiles: [...image.profiles],
      config: { ...DOCKER_READY_CONFIG, [BUILDER_KEY]: image.name },
      devices,
      timeoutMs: 30 * 60_000,
    });
    const sourceFingerprint = (await lxd.getInstance(builder))?.config["volatile.base_image"] ?? "";
    await pushInputs(lxd, builder, { image, tarballPath: tarball.path, agentScript, agentUnit, script });
    throwIfAborted(opts.signal);
    await lxd.startInstance(builder);
    await waitUntilBooted(lxd, builder, opts.signal, say);
    say("running the recipe");
    await runRecipe(lxd, builder, image.build_timeout, opts);
    say("stopping the builder");
    await lxd.stopInstance(builder, { force: false, timeoutSeconds: 60 }).catch(() => lxd.stopInstance(builder, { force: true }));
    throwIfAborted(opts.signal);
    say(`publishing ${alias}`);
    const published = await lxd.publishInstance(builder, {
      alias,
      properties: imageProperties({ image, release, recipe, sourceFingerprint, builtAt: new Date() }),
    });
    succeeded = true;
    const pruned = await pruneOldImages(lxd, image.name, published.fingerprint);
    say(`${alias} -> ${published.fingerprint.slice(0, 12)} (${(published.sizeBytes / 1_048_576).toFixed(0)} MiB)`);
    return { alias, image: published, runnerVersion: release.version, recipe, built: true, tarballReused: tarball.reused, durationMs: Math.round(performance.now() - started), pruned };
  } finally {
    if (succeeded || !opts.keepFailedBuilder) {
      await lxd.deleteInstance(builder, { force: true }).catch((err: unknown) => say(`could not remove builder ${builder}: ${describeError(err)}; remove it with: lxc delete -f ${builder}`));
    } else {
      say(`kept the failed builder ${builder} for inspection: lxc exec ${builder} -- bash   (remove with: lxc delete -f ${builder})`);
    }
    releaseLock();
  }
}

/**
 * The source as this backend resolves it, checked before anything is downloaded or created; the
 * image comes back with `source` filled in (the backend's default when the config names none), so
 * the recipe hash and the image's properties name what the build really started from.
 */
async function resolveSource(lxd: LxdClient, opts: BuildOptions): Promise<{ image: ImageConfig; source: BuildSource }> {
  const server = await lxd.serverInfo();
  const check = checkBuildSource(opts.image.source, { backend: server.backend, version: server.serverVersion }, opts.remotes);
  if (!check.ok) throw new BuildFailed(`images.${opts.image.name}.source: ${sourceRefusal(check)}`);
  return { image: { ...opts.image, source: check.text }, source: check.source };
}

/**
 * A proxy on the host's loopback is out of the builder's reach: an LXD proxy device listens on
 * the builder's own loopback and connects to it from the host. Other proxies are used directly.
 */
export function builderProxy(url: string | undefined): { insideUrl: string; device?: Record<string, string> } | undefined {
  if (url === undefined) return undefined;
  const u = new URL(url);
  const loopback = u.hostname === "localhost" || u.hostname === "[::1]" || /^127\./.test(u.hostname);
  if (!loopback) return { insideUrl: url };
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  const host = u.hostname === "localhost" ? "127.0.0.1" : u.hostname;
  return {
    insideUrl: `${u.protocol}//127.0.0.1:${port}`,
    device: { type: "proxy", listen: `tcp:127.0.0.1:${port}`, connect: `tcp:${host}:${port}`, bind: "instance" },
  };
}

async function pushInputs(
  lxd: LxdClient,
  builder: string,
  input: { image: ImageConfig; tarballPath: string; agentScript: string; agentUnit: string; script: string },
): Promise<void> {
  const root = { uid: 0, gid: 0 };
  await lxd.makeDirectory(builder, BUILD_DIR, { mode: 0o700, ...root });
  await lxd.pushFile(builder, buildPaths.runnerTarball, createReadStream(input.tarballPath), { mode: 0o644, ...root, timeoutMs: 10 * 60_000 });
  await lxd.pushFile(builder, buildPaths.agent, input.agentScript, { mode: 0o755, ...root });
  await lxd.pushFile(builder, buildPaths.agentUnit, input.agentUnit, { mode: 0o644, ...root });
  for (const [index, text] of input.image.steps.entries()) {
    await lxd.pushFile(builder, buildPaths.step(index), `${text}\n`, { mode: 0o700, ...root });
  }
  for (const file of input.image.files) {
    const info = await stat(file.source).catch((err: unknown) => {
      throw new BuildFailed(`images.${input.image.name}.files: cannot read ${file.source}: ${describeError(err)}`);
    });
    const parent = file.target.replace(/\/[^/]+$/, "") || "/";
    await lxd.makeDirectory(builder, parent, { mode: 0o755, parents: true, ...root });
    await lxd.pushFile(builder, file.target, createReadStream(file.source), { mode: info.mode & 0o7777, ...root, timeoutMs: 10 * 60_000 });
  }
  await lxd.pushFile(builder, buildPaths.script, input.script, { mode: 0o700, ...root });
}

/** Runs build.sh with its output in a log file, streaming the file's new bytes as they come. */
async function runRecipe(lxd: LxdClient, builder: string, timeoutMs: number, opts: BuildOptions): Promise<void> {
  let shown = 0;
  let tail = "";
  const showNew = async (): Promise<void> => {
    const log = await lxd.pullFile(builder, buildPaths.log, { timeoutMs: 20_000, maxBytes: 16 * 1024 * 1024 }).catch(() => null);
    if (!log || log.length <= shown) return;
    const text = log.subarray(shown).toString("utf8");
    shown = log.length;
    tail = (tail + text).slice(-4000);
    opts.progress(text);
  };
  let done = false;
  const command = ["/bin/sh", "-c", `/bin/sh ${buildPaths.script} > ${buildPaths.log} 2>&1`];
  const env = { HOME: "/root", PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
  const exec = lxd.exec(builder, command, { timeoutMs, env }).finally(() => {
    done = true;
  });
  const aborted = new Promise<never>((_, reject) => {
    if (!opts.signal) return;
    if (opts.signal.aborted) reject(new BuildFailed("build interrupted"));
    opts.signal.addEventListener("abort", () => reject(new BuildFailed("build interrupted")), { once: true });
  });
  const poll = (async () => {
    while (!done) {
      await showNew();
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  let result: { exitCode: number };
  try {
    result = await Promise.race([exec, aborted]);
  } catch (err) {
    if (err instanceof BuildFailed) throw err;
    await showNew();
    throw new BuildFailed(`running the recipe failed: ${describeError(err)}; its last lines:\n${tail.trimEnd().split("\n").slice(-15).join("\n")}`, { cause: err });
  }
  await poll;
  await showNew();
  await lxd.deleteFile(builder, buildPaths.log).catch(() => undefined);
  if (result.exitCode !== 0) {
    const lastLines = tail.trimEnd().split("\n").slice(-15).join("\n");
    throw new BuildFailed(`the recipe failed with exit code ${result.exitCode}; its last lines:\n${lastLines}`);
  }
}

/**
 * Waits until the builder's init has finished booting before the recipe runs. Commands started
 * during systemd's early boot have been seen failing to fork, and LXD to lose their PID
 * ("Failed to retrieve PID of executing child process"), so each probe is its own exec.
 */
async function waitUntilBooted(lxd: LxdClient, builder: string, signal: AbortSignal | undefined, say: (line: string) => void): Promise<void> {
  let last = "no answer yet";
  for (let attempt = 0; attempt < 240; attempt++) {
    throwIfAborted(signal);
    try {
      const probe = await lxd.exec(builder, ["systemctl", "is-system-running"], { timeoutMs: 10_000 });
      if (probe.exitCode === 127) return; // no systemd: nothing to wait for
      last = probe.stdout.trim() || probe.stderr.trim();
      if (last === "running" || last === "degraded") return;
    } catch (err) {
      last = describeError(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  say(`the builder has not finished booting after 120 s (${last}); going on`);
}

async function currentImage(lxd: LxdClient, alias: string): Promise<Image | null> {
  const target = await lxd.getImageAlias(alias);
  return target ? lxd.getImage(target.target) : null;
}

async function removeLeftoverBuilders(lxd: LxdClient, name: string, say: (line: string) => void): Promise<void> {
  for (const instance of await lxd.listInstances({ configKey: BUILDER_KEY, value: name })) {
    say(`removing builder ${instance.name} left by an earlier build`);
    await lxd.deleteInstance(instance.name, { force: true });
  }
}

/** Images built for `name` that lost their alias and that no instance was made from. */
async function pruneOldImages(lxd: LxdClient, name: string, keep: string): Promise<string[]> {
  const images = await lxd.listImages();
  const inUse = new Set((await lxd.listInstances()).map((i) => i.config["volatile.base_image"]));
  const pruned: string[] = [];
  for (const image of images) {
    if (image.fingerprint === keep || image.properties[propertyKeys.name] !== name) continue;
    if (image.aliases.length > 0 || inUse.has(image.fingerprint)) continue;
    await lxd.deleteImage(image.fingerprint);
    pruned.push(image.fingerprint);
  }
  return pruned;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BuildFailed("build interrupted");
}

