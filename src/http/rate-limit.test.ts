import { describe, expect, it } from "vitest";
import { SlidingWindowLimiter } from "./rate-limit.js";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe("SlidingWindowLimiter", () => {
  it("allows `limit` hits per window, then says how long to wait", () => {
    const c = clock();
    const limiter = new SlidingWindowLimiter({ limit: 3, windowMs: 60_000 }, c.now);
    expect(limiter.take("a")).toBe(0);
    c.advance(10_000);
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(50_000);
    expect(limiter.take("b")).toBe(0);
    c.advance(50_000);
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(10_000);
  });

  it("counts hits without taking for failure limits", () => {
    const c = clock();
    const limiter = new SlidingWindowLimiter({ limit: 2, windowMs: 1000 }, c.now);
    expect(limiter.retryAfterMs("ip")).toBe(0);
    limiter.hit("ip");
    limiter.hit("ip");
    limiter.hit("ip");
    expect(limiter.retryAfterMs("ip")).toBe(1000);
    c.advance(1000);
    expect(limiter.retryAfterMs("ip")).toBe(0);
  });

  it("bounds the keys it tracks", () => {
    const c = clock();
    const limiter = new SlidingWindowLimiter({ limit: 1, windowMs: 1000 }, c.now, 2);
    limiter.hit("a");
    limiter.hit("b");
    limiter.hit("c");
    expect(limiter.retryAfterMs("a")).toBe(0);
    expect(limiter.retryAfterMs("c")).toBe(1000);
  });
});
