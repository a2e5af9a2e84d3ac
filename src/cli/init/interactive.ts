// `runnerd init` on a terminal: the questions in order (backend and storage pool, pools, GitHub,
// image), each with a default, giving the same answers a preseed file holds.
import { answersSchema, type Answers, type AnswersInput } from "./answers.js";
import { askGitHub } from "./ask-github.js";
import { askPools } from "./ask-pools.js";
import { describePools, isFastDriver, type Backend } from "./backend.js";
import { ask, askYes, type Prompter } from "./prompt.js";

export async function askAnswers(p: Prompter, backend: Backend | { problem: string }, configPath: string): Promise<Answers> {
  const lxd = await askStorage(p, backend);
  const pools = await askPools(p);
  const github = await askGitHub(p, pools.map((pool) => pool.scope), configPath);
  p.say("\nRunner image.");
  const name = "default";
  p.say(`Pools run on runnerd/${name}: Ubuntu 24.04 with Docker and the runner, built by \`runnerd image build ${name}\` (1-3 minutes).`);
  const build = await askYes(p, "Build it once the configuration is written?", false);
  const input: AnswersInput = { lxd, github, pools, image: { name, build }, doctor: true };
  return answersSchema.parse(input);
}

async function askStorage(p: Prompter, backend: Backend | { problem: string }): Promise<AnswersInput["lxd"]> {
  if ("problem" in backend) {
    p.say(`No LXD or Incus answered (${backend.problem}).`);
    p.say("The configuration can still be written; install one (README, operator guide 1), then run `runnerd doctor`.");
    return { storage_pool: await ask(p, "Storage pool for runners' disks", { default: "runners" }) };
  }
  p.say(`Found ${backend.kind} ${backend.version} at ${backend.socket}; storage pools: ${describePools(backend.pools)}.`);
  const fast = backend.pools.filter((pool) => isFastDriver(pool.driver));
  if (fast.length === 0) p.say("None is btrfs or zfs: on dir every runner is a full copy of its image, and Docker inside runs poorly.");
  const name = await ask(p, "Storage pool for runners' disks", { default: fast[0]?.name ?? "runners" });
  const socket = backend.autoDetected ? {} : { socket: backend.socket };
  const existing = backend.pools.find((pool) => pool.name === name);
  if (existing) {
    if (!isFastDriver(existing.driver)) p.say(`${name} uses ${existing.driver}: \`runnerd doctor\` will refuse it for pools that run Docker.`);
    return { ...socket, storage_pool: name };
  }
  if (!(await askYes(p, `Create storage pool ${name} (btrfs, on a loop file ${backend.kind} manages)?`, true))) {
    p.say(`Then create it before starting runnerd: ${backend.kind === "incus" ? "incus" : "lxc"} storage create ${name} btrfs size=100GiB`);
    return { ...socket, storage_pool: name };
  }
  const size = await ask(p, "Its size", {
    default: "100GiB",
    parse: (text) => {
      if (!/^\d+(\.\d+)?\s*[KMGTP]i?B$/.test(text)) throw new Error('a size such as "100GiB"');
      return text;
    },
  });
  return { ...socket, storage_pool: name, create_storage_pool: { driver: "btrfs", size } };
}
