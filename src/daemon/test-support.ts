// A fake LXD on a unix socket that answers just enough for the daemon to start and plan (server
// info, the instance list and the stopped runner in it, image aliases) and never answers anything
// else: a create, a file read or a delete hangs, as LXD 5.0.2 sometimes hangs a file read on a
// just-stopped instance.
// Shared by the shutdown tests (in-process and `runnerd up` as a child process).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface HungLxd {
  socketPath: string;
  stateDir: string;
  configPath: string;
  controllerId: string;
  /** "METHOD path" of every request that was left hanging. */
  readonly hung: string[];
  /** Requests still hanging: neither answered nor aborted by the client. */
  openRequests(): number;
  /** Resolves once a request matching `pattern` is hanging. */
  hanging(pattern: RegExp): Promise<void>;
  close(): Promise<void>;
}

const sync = (res: ServerResponse, metadata: unknown) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ type: "sync", status: "Success", status_code: 200, metadata }));
};

/** One stopped runner to collect (its file reads hang) and room for one spawn (its create hangs). */
/** `shutdownTimeout` left out: the default. */
export async function startHungLxd(options: { shutdownTimeout?: string } = {}): Promise<HungLxd> {
  const stateDir = mkdtempSync(join(tmpdir(), "runnerd-shutdown-"));
  const socketPath = join(stateDir, "lxd.socket");
  const configPath = join(stateDir, "config.yaml");
  const controllerId = "shutdown-test";
  const hung: string[] = [];
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const open = new Set<ServerResponse>();
  const stopped = {
    name: "rd-web-stopped",
    status: "Stopped",
    status_code: 102,
    created_at: new Date(Date.now() - 60_000).toISOString(),
    config: {
      "user.runnerd.controller": controllerId,
      "user.runnerd.pool": "web",
      "user.runnerd.scope": "repo:owner/name",
      "user.runnerd.image": "f".repeat(64),
      "user.runnerd.created-at": new Date(Date.now() - 60_000).toISOString(),
      "volatile.last_state.power": "STOPPED",
    },
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (req.method === "GET" && path === "/1.0") return sync(res, { api_extensions: [], auth: "trusted", environment: { server: "lxd", server_version: "5.0.2" } });
    if (req.method === "GET" && path === "/1.0/instances") return sync(res, [stopped]);
    if (req.method === "GET" && path === `/1.0/instances/${stopped.name}`) return sync(res, stopped);
    if (req.method === "GET" && path.startsWith("/1.0/images/aliases/")) return sync(res, { name: "runner-image", target: "f".repeat(64) });
    const what = `${req.method ?? "?"} ${req.url ?? ""}`;
    hung.push(what);
    open.add(res);
    res.on("close", () => open.delete(res));
    for (const w of waiters.filter((w) => w.pattern.test(what))) w.resolve();
  };
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  writeFileSync(
    configPath,
    [
      `controller_id: ${controllerId}`,
      `state_dir: ${stateDir}`,
      ...(options.shutdownTimeout !== undefined ? [`shutdown_timeout: ${options.shutdownTimeout}`] : []),
      "log_level: info",
      `lxd: { socket: ${socketPath} }`,
      'http: { listen: "127.0.0.1:0" }',
      "github: { main: { auth: { type: push } } }",
      "pools:",
      "  - { name: web, scope: { repo: owner/name }, image: runner-image, runners: { floor: 2, ceiling: 2 } }",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return {
    socketPath,
    stateDir,
    configPath,
    controllerId,
    hung,
    openRequests: () => open.size,
    hanging: (pattern) =>
      hung.some((h) => pattern.test(h)) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pattern, resolve })),
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
