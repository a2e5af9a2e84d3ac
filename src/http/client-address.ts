// Who the client is: the socket's peer, or behind trusted reverse proxies the rightmost
// X-Forwarded-For entry that is not one of them. Entries further left are whatever the client
// sent, so believing them (as fastify's `trustProxy: true` does) lets any caller choose the
// address its rate limits count under. And the key those limits use: an IPv4 address, or an
// IPv6 /64, since one host is routinely given a whole /64 to pick addresses from.
import { BlockList, isIPv4, isIPv6 } from "node:net";
import type { HttpConfig } from "../config/index.js";

/** `http.trust_proxy` as the config resolves it: off, a hop count, or proxy addresses/CIDRs. */
export type TrustProxy = HttpConfig["trust_proxy"];

/** fastify's trust function: is the address `hop` steps back (0: the socket's peer) a trusted proxy? */
export type ProxyTrust = (address: string, hop: number) => boolean;

/** The trust function fastify resolves `request.ip` with, or false to use the socket's peer. */
export function proxyTrust(setting: TrustProxy): false | ProxyTrust {
  if (setting === false) return false;
  // fastify takes a bare number as "trust nobody"; as a function it counts hops as configured.
  if (typeof setting === "number") return (_address, hop) => hop < setting;
  const proxies = new BlockList();
  for (const entry of setting) {
    const [address = "", prefix] = entry.split("/");
    const family = isIPv4(address) ? "ipv4" : "ipv6";
    if (prefix === undefined) proxies.addAddress(address, family);
    else proxies.addSubnet(address, Number(prefix), family);
  }
  return (address) => {
    const plain = unmapped(address);
    if (isIPv4(plain)) return proxies.check(plain, "ipv4");
    return isIPv6(plain) && proxies.check(plain, "ipv6");
  };
}

/** The rate-limit key of a client address: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64. */
export function addressKey(address: string): string {
  const plain = unmapped(address);
  if (!isIPv6(plain)) return plain;
  const groups = ipv6Groups(plain);
  return groups === undefined ? plain : `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** `::ffff:a.b.c.d` (a dual-stack socket's IPv4 peer) as `a.b.c.d`; a zone id dropped. */
function unmapped(address: string): string {
  const plain = address.split("%")[0] ?? address;
  const groups = isIPv6(plain) ? ipv6Groups(plain) : undefined;
  if (groups === undefined || groups.slice(0, 5).some((g) => g !== 0) || groups[5] !== 0xffff) return plain;
  const [high = 0, low = 0] = groups.slice(6);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

/** The eight 16-bit groups of a valid IPv6 address (`::` and a dotted IPv4 tail expanded). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, dotted.index);
    // `::ffff:1.2.3.4` leaves `::ffff:`: drop the separator, not a `::`.
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const [left = "", right] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const head = parse(left);
  const rest = right === undefined ? [] : parse(right);
  const missing = 8 - head.length - rest.length - tail.length;
  const groups = [...head, ...new Array<number>(Math.max(0, missing)).fill(0), ...rest, ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
