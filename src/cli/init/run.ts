// `runnerd init`, start to end: answers (terminal or preseed), the backend and its storage pool,
// the config checked by runnerd's own loader, then the secret files and the config written (never
// over existing ones without --force), the renewal workflows, the image, and doctor.
import { existsSync, statSync } from "node:fs";
import { formatConfigIssues, loadConfig, type LoadedConfig } from "../../config/index.js";
import { ConfigError, UsageError } from "../../errors.js";
import type { Answers } from "./answers.js";
import { chooseStoragePool, createStoragePool, findBackend, type Backend } from "./backend.js";
import { writeFileAtomic } from "./files.js";
import { renewalWorkflows, type RunnerdRunner } from "./finish.js";
import { askAnswers } from "./interactive.js";
import { resolveOwners, type Owners } from "./owner.js";
import { dumpPreseed, loadPreseed, preseedIssue, type Preseed } from "./preseed.js";
import { askYes, type Prompter } from "./prompt.js";
import { planSecrets, withSecretPaths, writeSecrets } from "./secrets.js";
import { checkedConfig, configText } from "./to-config.js";

export interface InitOptions {
  configPath: string;
  preseed?: string;
  force: boolean;
  dryRun: boolean;
  user?: string;
  doctor: boolean;
  buildImage: boolean;
}

export interface InitDeps {
  /** The terminal to ask on; undefined when stdin is not one. */
  prompter: (() => Prompter) | undefined;
  env: NodeJS.ProcessEnv;
  runnerd: (user: string) => RunnerdRunner;
  findBackend?: typeof findBackend;
  euid?: number;
  out: (text: string) => void;
}

export async function runInit(opts: InitOptions, deps: InitDeps): Promise<void> {
  if (existsSync(opts.configPath) && !opts.force && !opts.dryRun) {
    throw new UsageError(`init: ${opts.configPath} exists; runnerd init replaces it (and the secret files it writes) only with --force. Check it with: runnerd config check`);
  }
  if (opts.preseed === undefined && deps.prompter === undefined) throw new UsageError("init: stdin is not a terminal to ask on: give --preseed FILE (--preseed - reads it from stdin)");
  const owners = resolveOwners(opts.user, deps.euid);
  const prompter = opts.preseed === undefined ? deps.prompter?.() : undefined;
  const preseed = opts.preseed !== undefined ? loadPreseed(opts.preseed) : undefined;
  if (preseed) warnReadableSecrets(preseed, deps.out);
  const backend = await (deps.findBackend ?? findBackend)(preseed?.answers.lxd.socket);
  try {
    const asked = preseed ? preseedAnswers(preseed, backend, deps.out) : await askAnswers(prompter as Prompter, backend, opts.configPath);
    const answers = withSecretPaths(asked, opts.configPath);
    const text = configText(answers, opts.configPath);
    const loaded = checkOrExplain(text, opts.configPath, preseed);
    const writes = planSecrets(answers, deps.env, owners.uid);
    if (opts.dryRun) {
      deps.out(text);
      for (const w of writes) deps.out(`# --dry-run: would write ${w.path} (0600, owned by ${owners.user})`);
      return;
    }
    if (prompter) {
      deps.out(`\n${text}`);
      if (!(await askYes(prompter, `Write this configuration to ${opts.configPath}?`, true))) throw new UsageError("init: nothing written");
    }
    await ensureStoragePool(answers, backend, deps.out);
    writeSecrets(writes, owners.secrets, opts.force);
    for (const w of writes) deps.out(`wrote ${w.path} (mode 0600, owned by ${owners.user}): ${w.field}`);
    writeFileAtomic(opts.configPath, text, { mode: 0o640, ...(owners.config ? { owner: owners.config } : {}), replace: opts.force, field: "--config", check: (p) => void loadConfig(p) });
    deps.out(`wrote ${opts.configPath} (mode 0640${owners.config ? `, root:${owners.user}` : ""}): ${loaded.config.pools.length} pool(s)`);
    await finish(answers, loaded, opts, owners, deps, prompter);
  } finally {
    prompter?.close();
    if (!("problem" in backend)) await backend.client.close().catch(() => undefined);
  }
}

/** The preseed's storage pool, checked against (or picked from) the backend's pools. */
function preseedAnswers(preseed: Preseed, backend: Backend | { problem: string }, out: (text: string) => void): Answers {
  const { answers } = preseed;
  if ("problem" in backend) {
    out(`warning: no LXD or Incus answered (${backend.problem}); writing the configuration anyway`);
    if (answers.lxd.storage_pool === undefined) throw new UsageError(`${preseed.fileName}: lxd.storage_pool: required when no LXD or Incus answers to pick one`);
    return answers;
  }
  const exists = backend.pools.some((p) => p.name === answers.lxd.storage_pool);
  const create = answers.lxd.create_storage_pool !== undefined && !exists;
  const storage_pool = chooseStoragePool(backend.pools, answers.lxd.storage_pool, create);
  const { create_storage_pool: wanted, ...lxd } = answers.lxd;
  return { ...answers, lxd: { ...lxd, storage_pool, ...(create && wanted ? { create_storage_pool: wanted } : {}) } };
}

function checkOrExplain(text: string, configPath: string, preseed: Preseed | undefined): LoadedConfig {
  try {
    return checkedConfig(text, configPath);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (!preseed) throw new ConfigError(`init: the configuration would not load, nothing written:\n${err.message}`, err.issues);
    const issues = err.issues.map((issue) => preseedIssue(preseed, issue));
    throw new ConfigError(`init: the configuration from ${preseed.fileName} would not load, nothing written:\n${formatConfigIssues(issues)}`, issues);
  }
}

async function ensureStoragePool(answers: Answers, backend: Backend | { problem: string }, out: (text: string) => void): Promise<void> {
  const wanted = answers.lxd.create_storage_pool;
  const name = answers.lxd.storage_pool;
  if (!wanted || !name || "problem" in backend || backend.pools.some((p) => p.name === name)) return;
  out(`creating storage pool ${name} (${wanted.driver}${wanted.size ? `, ${wanted.size}` : ""}) in ${backend.kind}…`);
  await createStoragePool(backend.client, name, wanted.driver, wanted.size);
}

async function finish(answers: Answers, loaded: LoadedConfig, opts: InitOptions, owners: Owners, deps: InitDeps, prompter: Prompter | undefined): Promise<void> {
  const workflows = renewalWorkflows(loaded.config, opts.configPath);
  if (workflows.length > 0) {
    deps.out("\nPush mode: commit each workflow below in GitHub (the header of each lists the secrets and variables it needs):\n");
    for (const workflow of workflows) deps.out(workflow);
  }
  const webhook = loaded.config.github[answers.github.name]?.webhook_secret_file;
  if (webhook) deps.out(`\nWebhooks: publish POST /webhooks/github on http.listen (${loaded.config.http.listen}) through your TLS proxy, and add a webhook in GitHub (content type application/json, event Workflow jobs) whose secret is the content of ${webhook}.`);
  const runnerd = deps.runnerd(owners.user);
  const configArgs = ["--config", opts.configPath];
  if (answers.image.build || opts.buildImage) {
    for (const name of Object.keys(loaded.config.images)) {
      deps.out(`\nrunnerd image build ${name}`);
      if (runnerd([...configArgs, "image", "build", name]) !== 0) deps.out(`the image build failed; run it again with: runnerd image build ${name}`);
    }
  } else if (Object.keys(loaded.config.images).length > 0) {
    deps.out(`\nNext: build the runner image: ${Object.keys(loaded.config.images).map((n) => `runnerd image build ${n}`).join("; ")}`);
  }
  if (answers.doctor && opts.doctor) {
    deps.out("\nrunnerd doctor");
    const code = runnerd([...configArgs, "doctor"]);
    deps.out(code === 0 ? "doctor found no problem" : "doctor found problems (above); fix them, then run: runnerd doctor");
  }
  deps.out(`\nStart the service: systemctl enable --now runnerd`);
  if (prompter && (await askYes(prompter, "Print these answers as a preseed file for `runnerd init --preseed`?", false))) deps.out(dumpPreseed(answers));
}

/** A preseed holding a secret value should be as private as the secret. */
function warnReadableSecrets(preseed: Preseed, out: (text: string) => void): void {
  const g = preseed.answers.github;
  const holdsSecret = g.token !== undefined || (g.webhook_secret !== undefined && g.webhook_secret !== "generate");
  if (!holdsSecret || preseed.fileName === "<stdin>") return;
  const mode = statSync(preseed.fileName).mode & 0o777;
  if ((mode & 0o077) !== 0) out(`warning: ${preseed.fileName} holds a secret and has mode ${mode.toString(8).padStart(4, "0")}; chmod 600 it, or use token_env`);
}
