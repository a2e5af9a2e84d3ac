// Waits for LXD's background operations and turns their failures into LxdErrors.
import { LxdError } from "../errors.js";
import { parseMetadata } from "./response.js";
import type { LxdResult } from "./response.js";
import { operationSchema } from "./schema.js";
import type { OperationBody } from "./schema.js";
import type { Transport } from "./transport.js";

/** LXD status codes of an operation that will not change any more. */
const finalCodes = new Set([200, 400, 401]);
/** Longest single server-side wait, so a dead connection is noticed within a bounded time. */
const maxWaitSeconds = 30;
const defaultOperationTimeoutMs = 10 * 60_000;

export interface WaitOptions {
  what: string;
  /** Client-side deadline for the whole operation. */
  timeoutMs?: number;
}

/** Resolves to the finished operation's metadata, or throws with the operation's own `err`. */
export async function waitForOperation(transport: Transport, op: OperationBody, opts: WaitOptions): Promise<Record<string, unknown>> {
  const deadline = Date.now() + (opts.timeoutMs ?? defaultOperationTimeoutMs);
  let current = op;
  while (!finalCodes.has(current.status_code)) {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      throw new LxdError(`${opts.what}: operation ${op.id} still ${current.status} after ${opts.timeoutMs ?? defaultOperationTimeoutMs} ms`, 0);
    }
    const waitSeconds = Math.max(1, Math.min(maxWaitSeconds, Math.ceil(remainingMs / 1000)));
    const res = await transport.request("GET", `/1.0/operations/${encodeURIComponent(op.id)}/wait`, {
      what: opts.what,
      query: { timeout: waitSeconds },
      timeoutMs: waitSeconds * 1000 + 10_000,
    });
    current = parseMetadata(opts.what, operationSchema, res.kind === "sync" ? res.metadata : res.operation);
  }
  return finishedOperation(opts.what, current);
}

/** Checks a finished operation; exported for unit tests. */
export function finishedOperation(what: string, op: OperationBody): Record<string, unknown> {
  if (op.status_code === 200) return op.metadata ?? {};
  const text = op.err || op.status;
  // LXD reports a duplicate create as a failed operation; 409 lets callers treat it as "already there".
  const status = /already exists/i.test(text) ? 409 : op.status_code;
  throw new LxdError(`${what}: LXD operation failed: ${text}`, status);
}

/** Completes any answer: sync metadata as is, async by waiting for the operation. */
export async function settle(transport: Transport, res: LxdResult, opts: WaitOptions): Promise<unknown> {
  return res.kind === "sync" ? res.metadata : waitForOperation(transport, res.operation, opts);
}
