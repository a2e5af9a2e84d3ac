import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { clampNote, EXPIRY_CLOCK_MARGIN_MS, maxExpiry, parseTokenInput, parseTokenResponse } from "./token-input.js";

const now = new Date("2026-11-28T10:00:00Z");

describe("parseTokenInput", () => {
  it("reads GitHub's registration-token response", () => {
    const parsed = parseTokenInput('{"token":"AABBCC112233","expires_at":"2026-11-28T11:00:00.000+00:00"}\n', now);
    expect(parsed).toEqual({ token: "AABBCC112233", expiresAt: new Date("2026-11-28T11:00:00Z") });
  });

  it("gives a bare token one hour", () => {
    expect(parseTokenInput("  AABBCC112233\n", now)).toEqual({ token: "AABBCC112233", expiresAt: new Date("2026-11-28T11:00:00Z") });
  });

  it.each([
    ["", /nothing on stdin/],
    ["{not json", /not valid JSON/],
    ['{"expires_at":"2026-11-28T11:00:00Z"}', /field token/],
    ['{"token":"AABBCC112233"}', /field expires_at is missing/],
    ['{"token":"AABBCC112233","expires_at":"soon"}', /not a date/],
    ['{"token":"AABBCC112233","expires_at":"2026-11-28T09:00:00Z"}', /field expires_at in the JSON on stdin is not in the future: the token has expired \(this server's clock reads 2026-11-28T10:00:00.000Z\)/],
    ['{"token":"AABBCC112233","expires_at":"2026-11-28T10:00:00Z"}', /not in the future/],
    ["token with spaces", /neither JSON nor a bare token/],
    ['{"token":"a\\"b","expires_at":"2026-11-28T11:00:00Z"}', /field token/],
  ])("refuses %j", (input, message) => {
    expect(() => parseTokenInput(input, now)).toThrow(ConfigError);
    expect(() => parseTokenInput(input, now)).toThrow(message);
  });

  it("never echoes the token in an error", () => {
    try {
      parseTokenInput('{"token":"SECRET1234567","expires_at":"2026-11-28T09:00:00Z"}', now);
    } catch (err) {
      expect((err as Error).message).not.toContain("SECRET1234567");
    }
  });

  // JSON.parse's own message quotes the text around the error; stdin holds a token.
  it.each([
    '{"token": "MARKER1234567890", "expires_at": 2026-11-28}',
    '{"token": "x", MARKER1234567890',
    '{"token":"AABBCC112233","expires_at":"MARKER1234567890"}',
    '{"token":"MARKER 1234567890","expires_at":"2026-11-28T11:00:00Z"}',
    "MARKER1234567890 and more words",
  ])("quotes no part of malformed input %j in its error", (input) => {
    let message = "";
    try {
      parseTokenInput(input, now);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toBe("");
    expect(message).not.toContain("MARKER");
    expect(message).not.toContain("1234567890");
  });
});

describe("the pushed expiry", () => {
  it("keeps an expiry up to an hour and the clock margin ahead", () => {
    const latest = new Date(now.getTime() + 60 * 60_000 + EXPIRY_CLOCK_MARGIN_MS);
    expect(maxExpiry(now)).toEqual(latest);
    const parsed = parseTokenInput(`{"token":"AABBCC112233","expires_at":"${latest.toISOString()}"}`, now);
    expect(parsed).toEqual({ token: "AABBCC112233", expiresAt: latest });
    expect(clampNote(parsed)).toBeUndefined();
  });

  it.each(["2999-01-01T00:00:00Z", "2026-11-28T11:05:01Z", "2026-11-29T10:00:00Z"])("cuts %s to an hour and the margin from now, and says so", (sent) => {
    const parsed = parseTokenResponse({ token: "AABBCC112233", expires_at: sent }, now, { prefix: "", where: "the request body" });
    expect(parsed).toEqual({ token: "AABBCC112233", expiresAt: maxExpiry(now), clampedFrom: new Date(sent) });
    expect(clampNote(parsed)).toMatch(/more than an hour ahead .*stored as 2026-11-28T11:05:00.000Z/);
  });
});
