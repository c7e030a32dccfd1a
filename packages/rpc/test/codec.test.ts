import { randomFillSync } from "node:crypto";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DownloadResponseSchema, EchoRequestSchema } from "@synthmri/contracts";
import { describe, expect, it } from "vitest";
import { encodeMessage, LARGE_BYTES } from "../src/codec.js";

describe("encodeMessage", () => {
  it("writes large nested bytes once and decodes to the same message as toBinary", () => {
    for (const [offset, size] of [
      [0, LARGE_BYTES],
      [7, 1024 * 1024],
      [300, LARGE_BYTES - 1],
    ]) {
      const data = randomFillSync(new Uint8Array(size));
      const msg = create(DownloadResponseSchema, { frame: { frame: { case: "chunk", value: { offset, data } } } });
      const encoded = encodeMessage(DownloadResponseSchema, msg);
      const decoded = fromBinary(DownloadResponseSchema, encoded);
      expect(equals(DownloadResponseSchema, decoded, msg)).toBe(true);
      expect(
        equals(
          DownloadResponseSchema,
          decoded,
          fromBinary(DownloadResponseSchema, toBinary(DownloadResponseSchema, msg)),
        ),
      ).toBe(true);
      // The caller's message still holds its payload.
      expect(msg.frame?.frame.case === "chunk" && msg.frame.frame.value.data).toBe(data);
    }
  });

  it("handles top-level bytes next to other fields", () => {
    const msg = create(EchoRequestSchema, { text: "t", action: "a", padding: new Uint8Array(200_000).fill(3) });
    const decoded = fromBinary(EchoRequestSchema, encodeMessage(EchoRequestSchema, msg));
    expect(equals(EchoRequestSchema, decoded, msg)).toBe(true);
  });
});
