import { describe, expect, it } from "vitest";
import { DeliveryIdCache } from "./delivery-ids.js";
import { signWebhookBody, verifyWebhookSignature } from "./webhook-signature.js";

describe("DeliveryIdCache", () => {
  it("remembers ids up to its capacity, dropping the least recently used", () => {
    const cache = new DeliveryIdCache(2);
    cache.add("a");
    cache.add("b");
    expect(cache.seen("a")).toBe(true); // a is now the most recent
    cache.add("c");
    expect(cache.size).toBe(2);
    expect(cache.seen("b")).toBe(false);
    expect(cache.seen("a")).toBe(true);
    expect(cache.seen("c")).toBe(true);
  });
});

describe("verifyWebhookSignature", () => {
  const raw = Buffer.from('{"a":1}');
  const secrets: [string, string][] = [["one", "s1"], ["two", "s2"]];

  it("names the connection whose secret signed the bytes", () => {
    expect(verifyWebhookSignature(raw, signWebhookBody("s2", raw), secrets)).toBe("two");
    expect(verifyWebhookSignature(raw, signWebhookBody("s1", raw).toUpperCase().replace("SHA256=", "sha256="), secrets)).toBe("one");
  });

  it("refuses other secrets, other bytes and malformed headers", () => {
    expect(verifyWebhookSignature(raw, signWebhookBody("s3", raw), secrets)).toBeUndefined();
    expect(verifyWebhookSignature(Buffer.from('{"a": 1}'), signWebhookBody("s1", raw), secrets)).toBeUndefined();
    for (const header of ["", "sha256=", "sha256=abcd", `sha1=${"0".repeat(40)}`, `${signWebhookBody("s1", raw)}00`]) {
      expect(verifyWebhookSignature(raw, header, secrets), header).toBeUndefined();
    }
    expect(verifyWebhookSignature(raw, signWebhookBody("s1", raw), [])).toBeUndefined();
  });
});
