// Runner names: `<prefix>-<pool>-<random>`, valid as an LXD instance name and a GitHub runner name.
import { randomBytes } from "node:crypto";
import { RUNNER_NAME_SUFFIX_LENGTH } from "../config/index.js";

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

export function newRunnerName(prefix: string, pool: string, random: (n: number) => Buffer = randomBytes): string {
  const bytes = random(RUNNER_NAME_SUFFIX_LENGTH);
  let suffix = "";
  for (const b of bytes) suffix += alphabet[b % alphabet.length];
  return `${prefix}-${pool}-${suffix}`;
}
