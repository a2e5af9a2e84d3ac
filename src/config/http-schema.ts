// The `http:` section: where runnerd's HTTP server listens, and which reverse proxies it believes
// about the client's address (X-Forwarded-For). A wrong answer there lets any caller pick the
// address its rate limits are counted under, so only proxies the operator names are believed.
import { isIP } from "node:net";
import { z } from "zod";
import { fileInput } from "./fields.js";

/** `address` or `address/prefix`, IPv4 or IPv6 (no zone id: a proxy's address is global or loopback). */
export function isAddressOrCidr(text: string): boolean {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash < 0) return true;
  const prefix = text.slice(slash + 1);
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const TRUST_PROXY_HELP = "false, a number of proxies in front of runnerd (1 or more), or a list of the proxies' addresses or CIDRs, e.g. [127.0.0.1, \"::1\"]";

/**
 * `false`: the socket's peer is the client. A number n: the last n hops (the peer, then
 * X-Forwarded-For entries from the right) are proxies. A list: hops from those addresses are
 * proxies. Either way the client is the rightmost address that is not a proxy: entries further
 * left were written by the client itself and prove nothing. `true` is the deprecated spelling of
 * 1 (deprecations.ts): it used to mean the leftmost entry, which any caller can forge.
 */
export const trustProxySchema = z
  .unknown()
  .transform((value, ctx): false | number | string[] => {
    if (value === false) return false;
    if (value === true) return 1;
    if (typeof value === "number" && Number.isInteger(value) && value >= 1) return value;
    if (Array.isArray(value) && value.length > 0) {
      value.forEach((entry, index) => {
        if (typeof entry !== "string" || !isAddressOrCidr(entry)) {
          ctx.addIssue({ code: "custom", input: entry, path: [index], message: "must be an IP address or CIDR, e.g. 127.0.0.1, 10.0.0.0/8 or ::1" });
        }
      });
      return value as string[];
    }
    ctx.addIssue({ code: "custom", input: value, message: `must be ${TRUST_PROXY_HELP}` });
    return z.NEVER;
  })
  .default(false);

fileInput.add(trustProxySchema, {
  description: TRUST_PROXY_HELP,
  anyOf: [
    // `true` still loads, read as 1 with a warning (deprecations.ts).
    { type: "boolean" },
    { type: "integer", minimum: 1 },
    { type: "array", minItems: 1, items: { type: "string" } },
  ],
  default: false,
});

export const httpSchema = z
  .strictObject({
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be "host:port", e.g. "127.0.0.1:8780" (port 0: any free port)' })
      .refine((listen) => Number(listen.slice(listen.lastIndexOf(":") + 1)) <= 65535, { error: "the port must be 0 to 65535" })
      .default("127.0.0.1:8780"),
    trust_proxy: trustProxySchema,
  })
  .prefault({});
