// Where the fake runner's scripts are, and installing them into a directory (the emulator packs
// them as runner downloads; the busybox image build copies the folder itself).
import { existsSync } from "node:fs";
import { chown, cp, readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The scripts' folder; compiled into dist/, this module still points at the sources in src/. */
export const FAKE_RUNNER_DIR = fakeRunnerDir();

function fakeRunnerDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From dist/src/emulator/fake-runner/ the scripts are not beside the module: walk up to the checkout.
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, "config.sh")) && existsSync(join(dir, "VERSION"))) return dir;
    const source = join(dir, "src", "emulator", "fake-runner");
    if (existsSync(join(source, "config.sh"))) return source;
  }
  throw new Error(`cannot find the fake runner's scripts next to ${here}`);
}

/** Copies the runner layout (config.sh, run.sh, run-helper.sh.template, bin/, VERSION, ...; not the TypeScript), modes kept, into `root`. */
export async function installFakeRunner(root: string, owner?: { uid: number; gid: number }): Promise<void> {
  await cp(FAKE_RUNNER_DIR, root, { recursive: true, filter: (src) => !src.endsWith(".ts") });
  if (owner !== undefined) await chownTree(root, owner.uid, owner.gid);
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, uid, gid);
    else await chown(child, uid, gid);
  }
}
