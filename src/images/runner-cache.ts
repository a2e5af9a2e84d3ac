// The host's cache of runner tarballs (state_dir/cache): each file is downloaded once, checked
// against its sha256, and reused by every later build until the version changes.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import type { RunnerRelease } from "./runner-release.js";

export interface CachedTarball {
  path: string;
  /** True when the file was already in the cache and matched its checksum. */
  reused: boolean;
}

export async function cachedRunnerTarball(release: RunnerRelease, cacheDir: string, timeoutMs = 10 * 60_000): Promise<CachedTarball> {
  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  const path = join(cacheDir, release.filename);
  if ((await fileSha256(path)) === release.sha256) return { path, reused: true };

  const part = `${path}.part`;
  try {
    const res = await fetch(release.url, { signal: AbortSignal.timeout(timeoutMs), headers: { "user-agent": "runnerd" } });
    if (!res.ok || !res.body) throw new Error(`download ${release.url}: answered ${res.status}`);
    const hash = createHash("sha256");
    const body = Readable.fromWeb(res.body as ReadableStream<Uint8Array>);
    body.on("data", (chunk: Buffer) => hash.update(chunk));
    await pipeline(body, createWriteStream(part, { mode: 0o644 }));
    const got = hash.digest("hex");
    if (got !== release.sha256) {
      throw new Error(`download ${release.filename}: sha256 is ${got}, the release says ${release.sha256}; refusing it`);
    }
    await rename(part, path);
    return { path, reused: false };
  } finally {
    await rm(part, { force: true });
  }
}

async function fileSha256(path: string): Promise<string | undefined> {
  try {
    await stat(path);
  } catch {
    return undefined;
  }
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
