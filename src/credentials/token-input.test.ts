import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { parseTokenInput } from "./token-input.js";

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
    ['{"token":"AABBCC112233","expires_at":"2026-11-28T09:00:00Z"}', /expired at 2026-11-28T09:00:00.000Z/],
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
});
