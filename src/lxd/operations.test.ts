import { describe, expect, it } from "vitest";
import { LxdError } from "../errors.js";
import { finishedOperation, waitForOperation } from "./operations.js";
import type { LxdResult } from "./response.js";
import type { OperationBody } from "./schema.js";
import type { Transport } from "./transport.js";

const op = (over: Partial<OperationBody>): OperationBody => ({ id: "op1", status: "Running", status_code: 103, err: "", metadata: null, ...over });

/** A transport whose `request` answers the operation wait calls from a script. */
function scripted(answers: OperationBody[]): Transport & { paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    endpoint: "/fake.sock",
    project: undefined,
    request(_method, path, ro) {
      paths.push(`${path}?timeout=${String(ro?.query?.timeout)}`);
      const next = answers.shift();
      if (!next) throw new Error("no more answers");
      return Promise.resolve<LxdResult>({ kind: "sync", status: 200, metadata: next });
    },
    requestRaw: () => Promise.reject(new Error("unused")),
    websocketTarget: () => ({ url: "", tls: undefined }),
    close: () => Promise.resolve(),
  };
}

describe("waitForOperation", () => {
  it("waits until the operation finishes and returns its metadata", async () => {
    const t = scripted([op({}), op({ status: "Success", status_code: 200, metadata: { return: 0 } })]);
    await expect(waitForOperation(t, op({}), { what: "exec ls" })).resolves.toEqual({ return: 0 });
    expect(t.paths).toEqual(["/1.0/operations/op1/wait?timeout=30", "/1.0/operations/op1/wait?timeout=30"]);
  });

  it("throws the operation's own error text", async () => {
    const t = scripted([op({ status: "Failure", status_code: 400, err: "The instance is already stopped" })]);
    const err = (await waitForOperation(t, op({}), { what: "stop instance c" }).catch((e: unknown) => e)) as LxdError;
    expect(err).toBeInstanceOf(LxdError);
    expect(err.message).toBe("stop instance c: LXD operation failed: The instance is already stopped");
    expect(err.status).toBe(400);
  });

  it("gives up at the client-side deadline with status 0", async () => {
    const t = scripted([]);
    const err = (await waitForOperation(t, op({}), { what: "import image", timeoutMs: 0 }).catch((e: unknown) => e)) as LxdError;
    expect(err.status).toBe(0);
    expect(err.message).toContain("operation op1 still Running");
  });
});

describe("finishedOperation", () => {
  it("reports a duplicate create as 409", () => {
    const failed = op({ status: "Failure", status_code: 400, err: 'Failed creating instance record: Add instance info to the database: This "instances" entry already exists' });
    expect(() => finishedOperation("create instance c", failed)).toThrow(expect.objectContaining({ status: 409 }));
  });

  it("treats a cancelled operation as failed", () => {
    expect(() => finishedOperation("exec x", op({ status: "Cancelled", status_code: 401 }))).toThrow("LXD operation failed: Cancelled");
  });
});
