// GitHub signs each webhook body with the hook's secret: `X-Hub-Signature-256: sha256=<hex HMAC>`.
// The HMAC is over the raw bytes as received (a re-serialised JSON would differ), and compared in
// constant time so the answer's timing tells nothing about a guessed signature.
import { createHmac, timingSafeEqual } from "node:crypto";

const headerPattern = /^sha256=([0-9a-fA-F]{64})$/;

/** The label of the first secret that signed `raw` as `header` says, or undefined. */
export function verifyWebhookSignature<Label>(raw: Buffer, header: string, secrets: Iterable<readonly [Label, string]>): Label | undefined {
  const hex = headerPattern.exec(header.trim())?.[1];
  if (hex === undefined) return undefined;
  const given = Buffer.from(hex, "hex");
  for (const [name, secret] of secrets) {
    const expected = createHmac("sha256", secret).update(raw).digest();
    // Both are 32 bytes here: timingSafeEqual throws on a length mismatch.
    if (expected.length === given.length && timingSafeEqual(expected, given)) return name;
  }
  return undefined;
}

/** The header value GitHub would send for `raw` signed with `secret` (tests, bench). */
export function signWebhookBody(secret: string, raw: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`;
}
