// The interactive questions about GitHub: its URL, how runnerd gets registrations (push, app,
// pat) and the secrets each needs, and webhooks.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseScopeKey } from "../../config/index.js";
import type { AnswersInput } from "./answers.js";
import { ask, askChoice, askSecret, askYes, parseCount, type Prompter } from "./prompt.js";

type GitHubInput = AnswersInput["github"];

export async function askGitHub(p: Prompter, scopes: readonly string[], configPath: string): Promise<GitHubInput> {
  const dir = dirname(resolve(configPath));
  p.say("\nGitHub.");
  const url = await ask(p, "GitHub URL (or your GitHub Enterprise Server)", { default: "https://github.com", parse: httpUrl });
  p.say(
    [
      "How runnerd gets runner registrations:",
      "  push  no GitHub credential on this server: a scheduled workflow in GitHub mints a token every 30 minutes and pushes it (SSH or HTTPS)",
      "  app   a GitHub App's private key on this server; runnerd mints a single-use config per runner",
      "  pat   a personal access token on this server; the same",
    ].join("\n"),
  );
  const auth = await askChoice(p, "Credential mode", ["push", "app", "pat"] as const, "push");
  const modeAnswers = auth === "push" ? await askPush(p, scopes) : auth === "pat" ? await askPat(p, join(dir, "github-pat")) : await askApp(p, join(dir, "app.pem"));
  const webhooks = await askYes(p, "Receive workflow_job webhooks, so queued jobs scale pools above their floor? (GitHub must reach runnerd's HTTP server through your TLS proxy)", false);
  return { url, auth, ...modeAnswers, ...(webhooks ? { webhook_secret: "generate", webhook_secret_file: join(dir, "webhook-secret") } : {}) };
}

async function askPush(p: Prompter, scopes: readonly string[]): Promise<Partial<GitHubInput>> {
  const via = await askChoice(p, "How the workflow reaches runnerd: SSH to a forced command, HTTPS with GitHub's OIDC token, or both", ["ssh", "oidc", "both"] as const, "ssh");
  const answers: Partial<GitHubInput> = {};
  if (via !== "oidc") answers.ssh_key = await ask(p, "SSH key name (the forced command in ~runnerd/.ssh/authorized_keys names it)", { default: "renewer" });
  if (via !== "ssh") {
    const audience = await ask(p, "runnerd's public https:// URL (the OIDC audience; its reverse proxy forwards to http.listen)", { parse: httpsUrl });
    const firstRepo = scopes.map((s) => parseScopeKey(s)).find((s) => s.type === "repo");
    const repository = await ask(p, "Repository holding the renewal workflows (owner/name)", {
      ...(firstRepo?.type === "repo" ? { default: firstRepo.repo } : {}),
      parse: (text) => {
        const scope = parseScopeKey(text);
        if (scope.type !== "repo") throw new Error("a repository: owner/name");
        return scope.repo;
      },
    });
    const ref = await ask(p, "Branch the workflows run from", { default: "refs/heads/main", parse: (t) => (t.startsWith("refs/") ? t : `refs/heads/${t}`) });
    answers.oidc = { audience, repository, ref };
  }
  return answers;
}

async function askPat(p: Prompter, defaultFile: string): Promise<Partial<GitHubInput>> {
  p.say("The PAT needs: fine-grained, Administration: read and write (repositories) or Self-hosted runners: read and write (organisations); classic: repo or admin:org.");
  const token_file = await ask(p, "File runnerd reads the PAT from (written 0600, owned by runnerd)", { default: defaultFile, parse: absolute });
  const keep = existsSync(token_file) && (await askYes(p, `${token_file} exists: keep the PAT in it?`, true));
  if (keep) return { token_file };
  const token = await askSecret(p, "PAT (not shown)", (t) => (/^[A-Za-z0-9_]{20,255}$/.test(t) ? t : fail("not a GitHub token (ghp_… or github_pat_…)")));
  return { token_file, token };
}

async function askApp(p: Prompter, defaultFile: string): Promise<Partial<GitHubInput>> {
  p.say("The app needs Administration: read and write (repository runners) and/or Self-hosted runners: read and write (organisation runners), plus Actions: read with webhooks.");
  const app_id = await ask(p, "App ID", { parse: parseCount(1) });
  const from = await ask(p, "Path of the app's private key (.pem) as GitHub gave it", { ...(existsSync(defaultFile) ? { default: defaultFile } : {}), parse: absolute });
  const private_key_file = await ask(p, "Where runnerd reads it (copied there 0600, owned by runnerd)", { default: defaultFile, parse: absolute });
  return { app_id, private_key_file, ...(resolve(from) !== resolve(private_key_file) ? { private_key_from: from } : {}) };
}

function httpUrl(text: string): string {
  const url = new URL(text);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("an http:// or https:// URL");
  return text.replace(/\/+$/, "");
}

function httpsUrl(text: string): string {
  if (!text.startsWith("https://")) throw new Error("an https:// URL: the OIDC token must not travel in clear");
  return httpUrl(text);
}

function absolute(text: string): string {
  return text.startsWith("/") ? text : fail("an absolute path");
}

function fail(message: string): never {
  throw new Error(message);
}
