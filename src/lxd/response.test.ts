import { describe, expect, it } from "vitest";
import { LxdError } from "../errors.js";
import { errorFromRawAnswer, isNotFound, parseEnvelope, unreachableError } from "./response.js";

const sync = (metadata: unknown) => JSON.stringify({ type: "sync", status: "Success", status_code: 200, operation: "", error_code: 0, error: "", metadata });

function thrown(fn: () => unknown): LxdError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LxdError);
    return err as LxdError;
  }
  throw new Error("expected a throw");
}

describe("parseEnvelope", () => {
  it("returns sync metadata", () => {
    expect(parseEnvelope("read x", 200, sync({ a: 1 }))).toEqual({ kind: "sync", status: 200, metadata: { a: 1 } });
  });

  it("returns the operation of an async answer", () => {
    const body = JSON.stringify({
      type: "async",
      status_code: 100,
      operation: "/1.0/operations/abc",
      metadata: { id: "abc", status: "Running", status_code: 103, err: "", metadata: null },
    });
    const res = parseEnvelope("create instance c", 202, body);
    expect(res.kind).toBe("async");
    expect(res.kind === "async" && res.operation.id).toBe("abc");
  });

  it("names the operation, the status and LXD's text in errors", () => {
    const body = JSON.stringify({ type: "error", error_code: 400, error: "Instance is running", metadata: null });
    const err = thrown(() => parseEnvelope("delete instance rd-web-1f", 400, body));
    expect(err.message).toBe("delete instance rd-web-1f: LXD answered 400: Instance is running");
    expect(err.status).toBe(400);
  });

  it("maps a 404 envelope to a not-found error", () => {
    const body = JSON.stringify({ type: "error", error_code: 404, error: "Instance not found", metadata: null });
    expect(isNotFound(thrown(() => parseEnvelope("read instance x", 404, body)))).toBe(true);
  });

  it("keeps the HTTP status and text of a body that is not JSON", () => {
    const err = thrown(() => parseEnvelope("read x", 503, "<html>Service Unavailable</html>"));
    expect(err.status).toBe(503);
    expect(err.message).toBe("read x: LXD answered 503: <html>Service Unavailable</html>");
  });

  it("rejects JSON that is not an envelope as a bad gateway", () => {
    expect(thrown(() => parseEnvelope("read x", 200, JSON.stringify({ hello: 1 }))).status).toBe(502);
  });

  it("rejects an async answer whose operation is malformed", () => {
    const body = JSON.stringify({ type: "async", metadata: { nope: true } });
    expect(thrown(() => parseEnvelope("start instance c", 202, body)).status).toBe(502);
  });
});

describe("errorFromRawAnswer", () => {
  it("reads the JSON error envelope of a failed raw request", () => {
    const err = errorFromRawAnswer("pull file /x", 404, JSON.stringify({ type: "error", error_code: 404, error: "Not Found" }));
    expect(err.message).toBe("pull file /x: LXD answered 404: Not Found");
  });

  it("keeps a plain-text error", () => {
    expect(errorFromRawAnswer("pull file /x", 500, "boom").message).toBe("pull file /x: LXD answered 500: boom");
  });
});

describe("unreachableError", () => {
  it("has status 0, the endpoint and the cause", () => {
    const cause = Object.assign(new Error("connect ENOENT /nope.sock"), { code: "ENOENT" });
    const err = unreachableError("list instances", "/nope.sock", cause);
    expect(err.status).toBe(0);
    expect(err.message).toBe("list instances: LXD at /nope.sock not reached: connect ENOENT /nope.sock (ENOENT)");
    expect(err.cause).toBe(cause);
  });
});
