import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/index.js";

describe("PARTNER_PUBLIC_S3_ENDPOINT (issue 19.4)", () => {
  it("is an http(s) origin, unset by default", () => {
    expect(loadConfig({}).partnerPublicS3Endpoint).toBeUndefined();
    expect(
      loadConfig({ PARTNER_PUBLIC_S3_ENDPOINT: "https://downloads.hospital.example/" }).partnerPublicS3Endpoint,
    ).toBe("https://downloads.hospital.example");
    expect(() => loadConfig({ PARTNER_PUBLIC_S3_ENDPOINT: "downloads.hospital.example" })).toThrow(
      /PARTNER_PUBLIC_S3_ENDPOINT/,
    );
    expect(() => loadConfig({ PARTNER_PUBLIC_S3_ENDPOINT: "https://h.example/bucket" })).toThrow(/no path/);
  });
});
