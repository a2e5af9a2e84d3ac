// Whether each configured image's source can serve the backend, for `config check`, `doctor` and
// `image build`: checked before any builder exists, with the file, line and field to change.
import { readFileSync } from "node:fs";
import type { Config } from "../config/index.js";
import { formatPath, positionInText } from "../config/index.js";
import type { ConfigIssue } from "../errors.js";
import { checkBuildSource, describeTarget, type SourceCheck, type SourceTarget } from "../images/index.js";
import type { ConnectedLxd } from "../lxd/connect.js";

export interface ImageSourceReport {
  image: string;
  check: SourceCheck;
  /** For a source this backend cannot use: where it is written and what to use instead. */
  issue?: ConfigIssue;
}

export function targetOf(lxd: ConnectedLxd): SourceTarget {
  return { backend: lxd.server.backend, version: lxd.server.serverVersion };
}

/** Each image's source as this backend resolves it (or the images named). */
export function imageSourceReports(config: Config, file: string, target: SourceTarget, names: readonly string[] = Object.keys(config.images)): ImageSourceReport[] {
  let text: string | undefined;
  return names.flatMap((name): ImageSourceReport[] => {
    const image = config.images[name];
    if (!image) return [];
    const check = checkBuildSource(image.source, target);
    if (check.ok) return [{ image: name, check }];
    text ??= readText(file);
    const path = ["images", name, "source"];
    const at = text === undefined ? { line: 1, column: 1 } : positionInText(text, path);
    const issue: ConfigIssue = { file, ...at, path: formatPath(path), message: `${check.problem}; use ${check.instead} instead` };
    return [{ image: name, check, issue }];
  });
}

/** `source ubuntu:24.04 (the default on LXD 5.0.2)` */
export function describeSource(check: Extract<SourceCheck, { ok: true }>, target: SourceTarget): string {
  return check.isDefault ? `source ${check.text} (the default on ${describeTarget(target)})` : `source ${check.text}`;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
