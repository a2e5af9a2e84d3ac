// Images and their aliases: list, read, import a unified tarball, delete.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { z } from "zod";
import { LxdError } from "../errors.js";
import { isNotFound, parseMetadata } from "./response.js";
import { settle } from "./operations.js";
import { bothHeaderFamilies } from "./headers.js";
import { imageAliasSchema, imageSchema } from "./schema.js";
import type { ImageBody } from "./schema.js";
import type { Transport } from "./transport.js";

/**
 * An image reference that is a fingerprint (or a unique prefix of one, as LXD accepts: at least
 * 12 hex digits) rather than an alias. The one pattern for it: a fingerprint never moves, an alias may.
 */
export function isImageFingerprint(ref: string): boolean {
  return /^[0-9a-f]{12,64}$/.test(ref);
}

export interface Image {
  fingerprint: string;
  aliases: string[];
  properties: Record<string, string>;
  architecture: string;
  sizeBytes: number;
  type: string;
  /** True for images LXD downloaded itself from a remote and may expire. */
  cached: boolean;
  createdAt: Date | undefined;
  uploadedAt: Date | undefined;
}

export interface ImageAlias {
  name: string;
  /** Fingerprint the alias points at. */
  target: string;
}

export interface ImportImageOptions {
  alias: string;
  /** Added to (and overriding) the properties in the tarball's metadata.yaml. */
  properties?: Record<string, string>;
  timeoutMs?: number;
}

export async function listImages(t: Transport): Promise<Image[]> {
  const what = "list images";
  const res = await t.request("GET", "/1.0/images", { what, query: { recursion: 1 } });
  return (parseMetadata(what, z.array(imageSchema).nullable(), res.kind === "sync" ? res.metadata : undefined) ?? []).map(toImage);
}

/** Accepts a full fingerprint or a unique prefix of one (LXD resolves prefixes itself). */
export async function getImage(t: Transport, fingerprint: string): Promise<Image | null> {
  const what = `read image ${fingerprint}`;
  try {
    const res = await t.request("GET", imagePath(fingerprint), { what });
    return toImage(parseMetadata(what, imageSchema, res.kind === "sync" ? res.metadata : undefined));
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export async function getImageAlias(t: Transport, alias: string): Promise<ImageAlias | null> {
  const what = `read image alias ${alias}`;
  try {
    const res = await t.request("GET", aliasPath(alias), { what });
    const body = parseMetadata(what, imageAliasSchema, res.kind === "sync" ? res.metadata : undefined);
    return { name: body.name, target: body.target };
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** 404 counts as done. Aliases pointing at the image go with it. */
export async function deleteImage(t: Transport, fingerprint: string): Promise<void> {
  const what = `delete image ${fingerprint}`;
  try {
    await settle(t, await t.request("DELETE", imagePath(fingerprint), { what }), { what });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Uploads a unified tarball (metadata.yaml + rootfs/) and points `alias` at it. Idempotent: a
 * unified image's fingerprint is the tarball's sha256, so an image already there is not sent again,
 * and an alias pointing elsewhere is moved.
 */
export async function importImage(t: Transport, tarballPath: string, opts: ImportImageOptions): Promise<Image> {
  const what = `import image ${basename(tarballPath)} as ${opts.alias}`;
  const [fingerprint, size] = await Promise.all([sha256File(tarballPath), stat(tarballPath).then((s) => s.size)]);
  if (!(await getImage(t, fingerprint))) {
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "content-length": String(size),
      ...bothHeaderFamilies({ fingerprint, filename: basename(tarballPath), ...(opts.properties ? { properties: new URLSearchParams(opts.properties).toString() } : {}) }),
    };
    const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
    const res = await t.request("POST", "/1.0/images", { what, rawBody: createReadStream(tarballPath), headers, timeoutMs });
    const done = (await settle(t, res, { what, timeoutMs })) as Record<string, unknown>;
    if (done.fingerprint !== undefined && done.fingerprint !== fingerprint) {
      throw new LxdError(`${what}: LXD stored fingerprint ${String(done.fingerprint)}, expected ${fingerprint}`, 502);
    }
  }
  await pointAlias(t, opts.alias, fingerprint);
  const image = await getImage(t, fingerprint);
  if (!image) throw new LxdError(`${what}: image ${fingerprint} vanished right after the import`, 404);
  return image;
}

export interface PublishOptions {
  /** Pointed at the new image (moved if it exists) once it is published. */
  alias: string;
  properties: Record<string, string>;
  timeoutMs?: number;
}

/** Publishes a stopped instance as an image and points `alias` at it; returns the new image. */
export async function publishInstance(t: Transport, instance: string, opts: PublishOptions): Promise<Image> {
  const what = `publish instance ${instance} as ${opts.alias}`;
  const timeoutMs = opts.timeoutMs ?? 20 * 60_000;
  const body = { source: { type: "instance", name: instance }, properties: opts.properties, public: false };
  const done = (await settle(t, await t.request("POST", "/1.0/images", { what, body, timeoutMs }), { what, timeoutMs })) as Record<string, unknown> | null;
  const fingerprint = typeof done?.fingerprint === "string" ? done.fingerprint : undefined;
  if (!fingerprint) throw new LxdError(`${what}: LXD did not say which image it made`, 502);
  // Aliases are moved after the fact: publishing with an alias that exists fails.
  await pointAlias(t, opts.alias, fingerprint);
  const image = await getImage(t, fingerprint);
  if (!image) throw new LxdError(`${what}: image ${fingerprint} vanished right after publishing`, 404);
  return image;
}

/** Removes an alias (404 counts as done); the image stays. */
export async function deleteImageAlias(t: Transport, alias: string): Promise<void> {
  try {
    await t.request("DELETE", aliasPath(alias), { what: `delete image alias ${alias}` });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function pointAlias(t: Transport, alias: string, fingerprint: string): Promise<void> {
  const what = `point image alias ${alias} at ${fingerprint.slice(0, 12)}`;
  const existing = await getImageAlias(t, alias);
  if (existing?.target === fingerprint) return;
  if (existing) {
    // PUT, not PATCH: LXD 5.0.2 never finishes a PATCH of an alias's target (its database
    // transaction times out after 10 s with 500 "context deadline exceeded").
    await t.request("PUT", aliasPath(alias), { what, body: { target: fingerprint, description: "" } });
    return;
  }
  await t.request("POST", "/1.0/images/aliases", { what, body: { name: alias, target: fingerprint } });
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function imagePath(fingerprint: string): string {
  return `/1.0/images/${encodeURIComponent(fingerprint)}`;
}

function aliasPath(alias: string): string {
  return `/1.0/images/aliases/${encodeURIComponent(alias)}`;
}

function optionalDate(value: string | undefined): Date | undefined {
  // LXD writes the Go zero time for "never".
  return value && !value.startsWith("0001-") ? new Date(value) : undefined;
}

function toImage(b: ImageBody): Image {
  return {
    fingerprint: b.fingerprint,
    aliases: (b.aliases ?? []).map((a) => a.name),
    properties: b.properties ?? {},
    architecture: b.architecture ?? "",
    sizeBytes: b.size ?? 0,
    type: b.type ?? "container",
    cached: b.cached ?? false,
    createdAt: optionalDate(b.created_at),
    uploadedAt: optionalDate(b.uploaded_at),
  };
}
