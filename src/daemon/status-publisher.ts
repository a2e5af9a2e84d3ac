// Publishes what the daemon believes after every pass: status.json for the CLI, a nudge to the
// status page's live streams, and the one credential-health snapshot that status.json, the status
// page and /metrics all read.
import type { Logger } from "pino";
import type { CredentialHealth } from "../credentials/health.js";
import { describeError } from "../errors.js";
import { credentialSnapshot, githubReports, type GitHubConnectionReport } from "../github/report.js";
import type { ImageReport } from "../images/runner-updates.js";
import type { ReconcilerStatus } from "../pools/reconciler.js";
import type { SweepReport } from "../pools/registration-sweeper.js";
import type { LiveConfig } from "./live-config.js";
import { writeStatusFile } from "./state-files.js";

export interface StatusSources {
  live: LiveConfig;
  configPath: string;
  startedAt: number;
  now(): number;
  tokens(): { scope: string; expiresAt: Date; updatedAt: Date; source: string }[];
  reconciler(): ReconcilerStatus | undefined;
  images(): ImageReport[];
  sweep(): SweepReport | undefined;
  logger: Logger;
}

export class StatusPublisher {
  private readonly listeners = new Set<() => void>();
  private httpUrl: string | undefined;

  constructor(private readonly sources: StatusSources) {}

  /** Per app/pat connection: requests, rate limits, credential expiry (`withCounts`: per route, for metrics). */
  github(withCounts = false): GitHubConnectionReport[] {
    return githubReports(this.sources.live.githubClients, withCounts);
  }

  credentials(): CredentialHealth[] {
    return credentialSnapshot(this.sources.live.config, this.sources.tokens(), this.github(), this.sources.now());
  }

  /** Once the HTTP server listens, status.json says where. */
  listening(url: string): void {
    this.httpUrl = url;
  }

  /** Live views (the status page's event stream) are told when something changed. */
  subscribe(notify: () => void): () => void {
    this.listeners.add(notify);
    return () => this.listeners.delete(notify);
  }

  publish(): void {
    this.writeFile();
    for (const notify of this.listeners) notify();
  }

  writeFile(): void {
    const status = this.sources.reconciler();
    if (!status) return;
    const sweep = this.sources.sweep();
    try {
      writeStatusFile(this.sources.live.config.state_dir, {
        version: 1,
        pid: process.pid,
        startedAt: this.sources.startedAt,
        configPath: this.sources.configPath,
        ...status,
        images: this.sources.images(),
        credentials: this.credentials(),
        github: this.github(),
        ...(sweep ? { sweep } : {}),
        ...(this.httpUrl ? { http: { url: this.httpUrl } } : {}),
      });
    } catch (err) {
      this.sources.logger.warn({ err: describeError(err) }, "writing status.json failed");
    }
  }
}
