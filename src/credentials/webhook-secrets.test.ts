import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/index.js";
import { readWebhookSecrets } from "./webhook-secrets.js";

const dir = mkdtempSync(join(tmpdir(), "runnerd-hook-"));
const configWith = (file: string) => parseConfig(
  `state_dir: /var/lib/runnerd-test
github:
  main: { auth: { type: push }, webhook_secret_file: ${file} }
  plain: { url: "https://ghe.example.com", auth: { type: push } }
pools:
  - { name: app, connection: main, scope: { repo: octo/app }, image: x }
`,
  "runnerd.yaml",
);

describe("readWebhookSecrets", () => {
  it("reads each connection's secret without the trailing newline", () => {
    const file = join(dir, "ok");
    writeFileSync(file, "hunter2-but-longer\n", { mode: 0o600 });
    expect(readWebhookSecrets(configWith(file))).toEqual(new Map([["main", { current: "hunter2-but-longer" }]]));
  });

  it("reads the previous secret too during a rotation, with the same checks", () => {
    const current = join(dir, "new");
    const previous = join(dir, "old");
    writeFileSync(current, "the-new-secret\n", { mode: 0o600 });
    writeFileSync(previous, "the-old-secret\n", { mode: 0o600 });
    const rotating = parseConfig(
      `github:\n  main: { auth: { type: push }, webhook_secret_file: ${current}, webhook_secret_previous_file: ${previous} }\npools:\n  - { name: app, scope: { repo: octo/app }, image: x }\n`,
      "runnerd.yaml",
    );
    expect(readWebhookSecrets(rotating)).toEqual(new Map([["main", { current: "the-new-secret", previous: "the-old-secret" }]]));
    chmodSync(previous, 0o644);
    expect(() => readWebhookSecrets(rotating)).toThrow(/github\.main\.webhook_secret_previous_file: .* mode 0644/);
  });

  it("refuses a file others can read, and an empty one", () => {
    const open = join(dir, "open");
    writeFileSync(open, "s", { mode: 0o600 });
    chmodSync(open, 0o644);
    expect(() => readWebhookSecrets(configWith(open))).toThrow(/github\.main\.webhook_secret_file: .* mode 0644/);
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n", { mode: 0o600 });
    expect(() => readWebhookSecrets(configWith(empty))).toThrow(/is empty/);
  });
});
