// Turns LXD's HTTP answers into results or LxdErrors: the envelope check and the error wording live here.
import { LxdError } from "../errors.js";
import { envelopeSchema, operationSchema } from "./schema.js";
import type { OperationBody } from "./schema.js";

export type LxdResult =
  | { kind: "sync"; status: number; metadata: unknown }
  | { kind: "async"; status: number; operation: OperationBody };

/**
 * Reads one JSON answer. `what` names the operation and object ("delete instance rd-web-1f") and
 * opens every error message, so a log line says what failed without a stack trace.
 */
export function parseEnvelope(what: string, httpStatus: number, text: string): LxdResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    // An error page from a proxy in front of LXD, or a crash: the status still says what happened.
    const detail = httpStatus >= 400 ? `: ${snippet(text)}` : ` with a body that is not JSON: ${snippet(text)}`;
    throw new LxdError(`${what}: LXD answered ${httpStatus}${detail}`, statusOrBadGateway(httpStatus), { cause });
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    throw new LxdError(`${what}: LXD answered ${httpStatus} with an unexpected body: ${snippet(text)}`, statusOrBadGateway(httpStatus), { cause: parsed.error });
  }
  const envelope = parsed.data;
  if (envelope.type === "error" || httpStatus >= 400) {
    const status = envelope.error_code || httpStatus;
    throw new LxdError(`${what}: LXD answered ${status}: ${envelope.error || "(no error text)"}`, status);
  }
  if (envelope.type === "async") {
    const op = operationSchema.safeParse(envelope.metadata);
    if (!op.success) {
      throw new LxdError(`${what}: LXD answered with an operation that does not parse`, 502, { cause: op.error });
    }
    return { kind: "async", status: httpStatus, operation: op.data };
  }
  return { kind: "sync", status: httpStatus, metadata: envelope.metadata };
}

/** An error answer to a raw (non-JSON) request: LXD still wraps errors in the JSON envelope. */
export function errorFromRawAnswer(what: string, httpStatus: number, text: string): LxdError {
  try {
    parseEnvelope(what, httpStatus, text);
  } catch (err) {
    if (err instanceof LxdError) return err;
    throw err;
  }
  return new LxdError(`${what}: LXD answered ${httpStatus}: ${snippet(text)}`, httpStatus);
}

/** A request that never got an answer: socket missing, refused, reset, timed out. */
export function unreachableError(what: string, endpoint: string, cause: unknown): LxdError {
  const code = (cause as { code?: unknown } | null)?.code;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const hint = typeof code === "string" ? ` (${code})` : "";
  return new LxdError(`${what}: LXD at ${endpoint} not reached: ${detail}${hint}`, 0, { cause });
}

/** The request's deadline passed: LXD (or what it waits on inside an instance) did not answer in time. */
export function isDeadlineError(err: unknown): boolean {
  return err instanceof LxdError && err.status === 0 && (err.cause as { code?: unknown } | undefined)?.code === "ETIMEDOUT";
}

/** LXD did not answer at all (socket refused or closed, not a deadline): nothing it holds was read. */
export function isUnreached(err: unknown): boolean {
  return err instanceof LxdError && err.status === 0 && !isDeadlineError(err);
}

/** Parses schema-checked metadata; a mismatch means LXD answered something runnerd does not understand. */
export function parseMetadata<T>(what: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: Error } }, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new LxdError(`${what}: LXD answered with metadata that does not match: ${parsed.error.message}`, 502, { cause: parsed.error });
  }
  return parsed.data;
}

/** Idempotent reads and deletes treat "not there" as an answer, not a failure. */
export function isNotFound(err: unknown): boolean {
  return err instanceof LxdError && err.status === 404;
}

function statusOrBadGateway(httpStatus: number): number {
  return httpStatus >= 400 ? httpStatus : 502;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || "(empty)";
}
