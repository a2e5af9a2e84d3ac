import { describe, expect, it } from "vitest";
import { getHostResources } from "./server.js";
import type { RequestOptions, Transport } from "./transport.js";

/** A transport that answers one sync request and records what was asked. */
function answering(metadata: unknown) {
  const asked: { path: string; opts: RequestOptions | undefined }[] = [];
  const transport = {
    request: async (_method: string, path: string, opts?: RequestOptions) => {
      asked.push({ path, opts });
      return { kind: "sync", metadata };
    },
  } as unknown as Transport;
  return { transport, asked };
}

describe("getHostResources", () => {
  it("reads the CPU and memory totals of GET /1.0/resources, within the deadline given", async () => {
    // The shape LXD 5.0.2 and Incus 6.0.4 answer with, trimmed.
    const { transport, asked } = answering({ cpu: { architecture: "x86_64", sockets: [], total: 2 }, memory: { nodes: [], hugepages_total: 0, used: 1, total: 25769803776 }, gpu: {} });
    await expect(getHostResources(transport, 5_000)).resolves.toEqual({ cpus: 2, memoryBytes: 25769803776 });
    expect(asked).toEqual([{ path: "/1.0/resources", opts: expect.objectContaining({ timeoutMs: 5_000 }) }]);
  });

  it("refuses an answer without the totals", async () => {
    await expect(getHostResources(answering({ cpu: {} }).transport)).rejects.toThrow();
  });
});
