// The interactive questions about pools: scope, name, labels, floor and ceiling.
import { parseScopeKey, type ScopeRef } from "../../config/index.js";
import type { AnswersInput } from "./answers.js";
import { ask, askYes, parseCount, type Prompter } from "./prompt.js";

type PoolInput = AnswersInput["pools"][number];

export async function askPools(p: Prompter): Promise<PoolInput[]> {
  p.say("\nPools: each pool keeps runners for one repository or organisation.");
  const pools: PoolInput[] = [];
  do {
    pools.push(await askPool(p, pools.length + 1, pools.map((x) => x.name)));
  } while (await askYes(p, "Add another pool?", false));
  return pools;
}

async function askPool(p: Prompter, n: number, taken: string[]): Promise<PoolInput> {
  const scope = await ask(p, `Pool ${n}: repository (owner/name) or organisation (org:name) its runners serve`, { parse: parseScopeKey });
  const name = await ask(p, "Pool name", {
    default: uniqueName(poolNameFor(scope), taken),
    parse: (text) => {
      if (!/^[a-z0-9][a-z0-9-]{0,19}$/.test(text)) throw new Error("1-20 lower-case letters, digits or '-'");
      if (taken.includes(text)) throw new Error(`pool ${text} exists already`);
      return text;
    },
  });
  const group = scope.type === "org" ? await ask(p, "Runner group", { default: "Default" }) : "Default";
  const labels = await ask(p, "Extra labels, comma-separated (self-hosted, linux and the architecture are always there)", {
    default: "",
    parse: (text) => {
      const list = text.split(/[\s,]+/).filter(Boolean);
      const bad = list.find((l) => !/^[A-Za-z0-9._-]{1,64}$/.test(l));
      if (bad) throw new Error(`label ${bad}: letters, digits, '.', '_' or '-'`);
      return list;
    },
  });
  const floor = await ask(p, "Runners kept ready for jobs (floor)", { default: "1", parse: parseCount(0) });
  const ceiling = await ask(p, "Most runners at once, busy ones included (ceiling; queued jobs scale up to it with webhooks)", { default: String(Math.max(floor, 1)), parse: parseCount(floor) });
  return {
    name,
    scope: scope.type === "repo" ? `repo:${scope.repo}` : `org:${scope.org}`,
    ...(group !== "Default" ? { runner_group: group } : {}),
    labels,
    floor,
    ceiling,
  };
}

/** `acme/Web.App` → `web-app`: the config's pool name rules, at most 20 characters. */
export function poolNameFor(scope: ScopeRef): string {
  const base = scope.type === "repo" ? (scope.repo.split("/")[1] ?? "") : scope.org;
  const name = base.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+/, "").slice(0, 20).replace(/-+$/, "");
  return name === "" ? "runners" : name;
}

function uniqueName(name: string, taken: string[]): string {
  let candidate = name;
  for (let i = 2; taken.includes(candidate); i++) candidate = `${name.slice(0, 17)}-${i}`;
  return candidate;
}
