// runnerd's HTTP server: fastify bound to `http.listen`, `/healthz`, JSON errors, and the route
// modules the daemon passes in (token push, webhooks, /metrics, the status page).
// Each route module is a fastify plugin, so it can set its own body limit and content parsers
// (a webhook route needs the raw body for its HMAC) without affecting the others.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyPluginAsync } from "fastify";
import { STATUS_CODES } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { ConfigError } from "../errors.js";
import { proxyTrust, type TrustProxy } from "./client-address.js";

export interface HttpServerOptions {
  /** `host:port` or `[v6]:port`; port 0 picks a free one. */
  listen: string;
  /** `http.trust_proxy`: which hops are proxies; the client is the rightmost address that is not one (client-address.ts). */
  trustProxy: TrustProxy;
  logger: Logger;
  /** Routes; registered in order, each in its own fastify context. */
  routes: readonly FastifyPluginAsync[];
}

export interface HttpServer {
  /** Bound address: `http://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting, ends open connections, resolves when closed. */
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new ConfigError(`http.listen: "${listen}" is not host:port (e.g. 127.0.0.1:8780, [::1]:8780)`);
  return { host: match[1] ?? match[2] ?? "", port };
}

/** The fastify instance with runnerd's defaults, not yet listening (also what tests inject into). */
export async function buildHttpApp(options: Omit<HttpServerOptions, "listen">): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: "http" }) as FastifyBaseLogger,
    // Route modules log what matters; a line per request would only repeat it.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: proxyTrust(options.trustProxy),
    // Small by default; a route wanting more (webhooks) sets its own bodyLimit.
    bodyLimit: 64 * 1024,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ message: "not found" }));
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err, method: request.method, url: request.routeOptions.url }, "HTTP request failed");
    // The status text only: fastify's messages can quote the request (a JSON syntax error quotes
    // the body), and route modules answer their own refusals anyway.
    return reply.code(status).send({ message: STATUS_CODES[status] ?? "error" });
  });
  if (options.trustProxy === false) warnOnceAboutForwarding(app);
  app.get("/healthz", async () => ({ status: "ok" }));
  for (const routes of options.routes) await app.register(routes);
  return app;
}

/**
 * Behind a proxy with `trust_proxy` off, every caller has the proxy's address, so one caller's
 * failed logins hold back everyone's. Said once: a header anyone can send must not flood the log.
 */
function warnOnceAboutForwarding(app: FastifyInstance): void {
  let warned = false;
  app.addHook("onRequest", async (request) => {
    if (warned || request.headers["x-forwarded-for"] === undefined) return;
    warned = true;
    request.log.warn(
      { address: request.ip },
      "a request carries X-Forwarded-For but http.trust_proxy is off: behind a reverse proxy, every caller has the proxy's address for rate limits and logs; set http.trust_proxy to the proxy's address",
    );
  });
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { host, port } = parseListen(options.listen);
  const app = await buildHttpApp(options);
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw new ConfigError(`http.listen ${options.listen}: cannot listen: ${(err as Error).message}`, [], { cause: err });
  }
  const address = app.server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    host: address.address,
    port: address.port,
    close: () => app.close(),
  };
}
