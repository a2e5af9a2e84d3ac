// What runnerd's images are, which pools use them, and the check `image rm` makes first.
import type { Config } from "../config/index.js";
import { isImageFingerprint, type Image, type LxdClient } from "../lxd/index.js";
import { propertyKeys } from "./properties.js";
import { imageAlias } from "./source.js";

export interface ImageEntry {
  name: string | undefined;
  aliases: string[];
  fingerprint: string;
  runnerVersion: string | undefined;
  builtAt: Date | undefined;
  sizeBytes: number;
  recipe: string | undefined;
  /** Pools whose `image` points at this image now. */
  pools: string[];
  /** runnerd runner instances made from it. */
  runners: number;
}

/** Fingerprint each pool's image points at now (alias resolved; unknown: absent). */
export async function poolImageTargets(lxd: LxdClient, config: Config, images: readonly Image[]): Promise<Map<string, string>> {
  const targets = new Map<string, string>();
  for (const pool of config.pools) {
    const fingerprint = await resolveImage(lxd, pool.image, images);
    if (fingerprint) targets.set(pool.name, fingerprint);
  }
  return targets;
}

/** An alias or a (prefix of a) fingerprint, to the full fingerprint; undefined when unknown. */
export async function resolveImage(lxd: LxdClient, ref: string, images?: readonly Image[]): Promise<string | undefined> {
  const alias = await lxd.getImageAlias(ref);
  if (alias) return alias.target;
  if (isImageFingerprint(ref)) {
    const all = images ?? (await lxd.listImages());
    return all.find((i) => i.fingerprint.startsWith(ref))?.fingerprint;
  }
  return undefined;
}

/** runnerd's images: those it built (by property) and any other a pool uses. */
export async function listRunnerImages(lxd: LxdClient, config: Config): Promise<ImageEntry[]> {
  const images = await lxd.listImages();
  const targets = await poolImageTargets(lxd, config, images);
  const instances = await lxd.listInstances({ configKey: "user.runnerd.controller", value: config.controller_id });
  const runnersOf = new Map<string, number>();
  for (const i of instances) {
    const fp = i.config["volatile.base_image"];
    if (fp) runnersOf.set(fp, (runnersOf.get(fp) ?? 0) + 1);
  }
  const used = new Set(targets.values());
  return images
    .filter((i) => i.properties[propertyKeys.name] !== undefined || used.has(i.fingerprint))
    .map((i) => {
      const builtAt = i.properties[propertyKeys.builtAt];
      return {
        name: i.properties[propertyKeys.name],
        aliases: i.aliases,
        fingerprint: i.fingerprint,
        runnerVersion: i.properties[propertyKeys.runnerVersion],
        builtAt: builtAt ? new Date(builtAt) : i.createdAt,
        sizeBytes: i.sizeBytes,
        recipe: i.properties[propertyKeys.recipe],
        pools: [...targets].filter(([, fp]) => fp === i.fingerprint).map(([pool]) => pool),
        runners: runnersOf.get(i.fingerprint) ?? 0,
      };
    })
    .sort((a, b) => (a.name ?? "~").localeCompare(b.name ?? "~") || (b.builtAt?.getTime() ?? 0) - (a.builtAt?.getTime() ?? 0));
}

/** `image rm` takes an image name from the config, an alias or a fingerprint. */
export async function findImageToRemove(lxd: LxdClient, config: Config, ref: string): Promise<{ fingerprint: string; label: string }> {
  const candidates = config.images[ref] ? [imageAlias(ref), ref] : [ref];
  for (const candidate of candidates) {
    const fingerprint = await resolveImage(lxd, candidate);
    if (fingerprint) return { fingerprint, label: candidate };
  }
  throw new Error(`image rm: no image "${ref}" (give an image name, an alias or a fingerprint; see runnerd image list)`);
}
