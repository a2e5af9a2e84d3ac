// Small request/response helpers shared by the emulator's route files.
import type { IncomingMessage, ServerResponse } from "node:http";

export const DOCS_URL = "https://docs.github.com/rest";

/** Thrown by handlers to answer with a GitHub-style error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface Reply {
  status: number;
  /** The status line's reason phrase (default Node's); busybox wget shows only that line of an error answer. */
  reason?: string;
  /** Serialised as JSON unless it is a string; undefined means an empty body. */
  body?: unknown;
  headers?: Record<string, string>;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, "Problems parsing JSON");
  }
}

export function errorBody(message: string): { message: string; documentation_url: string } {
  return { message, documentation_url: DOCS_URL };
}

export function writeReply(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...reply.headers };
  let payload: string | Buffer = "";
  if (Buffer.isBuffer(reply.body)) {
    payload = reply.body;
  } else if (typeof reply.body === "string") {
    payload = reply.body;
    headers["content-type"] ??= "text/plain; charset=utf-8";
  } else if (reply.body !== undefined) {
    // One line on purpose: the fake runner parses these answers with sed.
    payload = JSON.stringify(reply.body);
    headers["content-type"] ??= "application/json; charset=utf-8";
  }
  headers["content-length"] = String(Buffer.byteLength(payload));
  if (reply.reason === undefined) res.writeHead(reply.status, headers);
  else res.writeHead(reply.status, reply.reason, headers);
  res.end(payload);
}

export function bearerToken(req: IncomingMessage, schemes: readonly string[]): string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (match === null || match[1] === undefined || match[2] === undefined) return null;
  return schemes.includes(match[1].toLowerCase()) ? match[2] : null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
