// One build per image at a time across processes (the CLI and the daemon's auto_rebuild): a lock
// file holding the builder's pid. A lock whose process is gone is taken over, which is also what
// makes removing "leftover" builders safe: nobody else can be building this image right now.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class BuildLocked extends Error {
  override readonly name = "BuildLocked";
}

export function acquireBuildLock(dir: string, image: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `image-build-${image}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx", mode: 0o600 });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(readFileSync(file, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new BuildLocked(`another build of image ${image} is running (pid ${holder}); wait for it, or remove ${file} if that process is not runnerd`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new BuildLocked(`cannot take the build lock ${file}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
