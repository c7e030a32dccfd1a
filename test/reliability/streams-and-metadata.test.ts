// Stalled client streams and oversized metadata (issue 17.4), against the production entrypoints: an upload
// that sends its metadata and stalls is ended with DEADLINE_EXCEEDED after GRPC_CLIENT_STREAM_IDLE_MS; a long
// bearer token is UNAUTHENTICATED with a reason (our client refuses a 200 KB one before sending it; a raw
// HTTP/2 client's 200 KB header field is refused by nghttp2 itself, and the server stays up).
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { PartnerService, UploadSubjectRequestSchema } from "@synthmri/contracts";
import { createClient } from "@synthmri/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthStatus, rawCall, type Rig, startRig } from "./rig.js";

const IDLE_MS = 1500;
let rig: Rig;
beforeAll(async () => {
  rig = await startRig({ services: ["ingest", "generator"], env: { GRPC_CLIENT_STREAM_IDLE_MS: String(IDLE_MS) } });
}, 180_000);
afterAll(async () => {
  await rig?.close();
});

describe("client streams", () => {
  it("an UploadSubject that sends its metadata and stalls ends with DEADLINE_EXCEEDED", async () => {
    const metadata = toBinary(
      UploadSubjectRequestSchema,
      create(UploadSubjectRequestSchema, { part: { case: "metadata", value: { subjectId: "stall-1" } } }),
    );
    const s = await rawCall(
      rig.address.ingest,
      "/synthmri.ingest.v1.IngestService/UploadSubject",
      "client_streaming",
      [metadata],
      {
        endStream: false,
        deadlineMs: 60_000,
      },
    );
    expect(s.code, s.details).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(s.details).toMatch(/sent no stream message for 1500 ms/);
    expect(s.ms).toBeGreaterThanOrEqual(IDLE_MS - 100);
    expect(s.ms).toBeLessThan(30_000);
    expect(await healthStatus(rig.address.ingest)).toBe(1);
  });

  it("a stream opened with headers only (no message) is ended too", async () => {
    const s = await rawCall(
      rig.address.ingest,
      "/synthmri.ingest.v1.IngestService/UploadSubject",
      "client_streaming",
      [],
      {
        endStream: false,
        deadlineMs: 60_000,
      },
    );
    expect(s.code, s.details).toBe(grpc.status.DEADLINE_EXCEEDED);
  });
});

describe("oversized bearer tokens", () => {
  const path = "/synthmri.generator.v1.PartnerService/GetBundle";

  it("a 50 KB token reaches the server and is UNAUTHENTICATED with its length as the reason", async () => {
    const s = await rawCall(rig.partnerAddress, path, "unary", [new Uint8Array()], {
      metadata: { authorization: `Bearer ${"t".repeat(50_000)}` },
    });
    expect(s.code, s.details).toBe(grpc.status.UNAUTHENTICATED);
    expect(s.details).toMatch(/bearer tokens are at most 4096/);
  });

  it("our client refuses to send a 200 KB token: UNAUTHENTICATED, not INTERNAL/RST_STREAM", async () => {
    const partner = createClient(PartnerService, rig.partnerAddress, {
      retry: false,
      metadata: { authorization: `Bearer ${"t".repeat(200_000)}` },
    });
    try {
      await expect(partner.getBundle({ bundleId: "pb-000000" })).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
      });
    } finally {
      partner.close();
    }
  });

  it("a raw 200 KB header field costs the sender its stream only: the server keeps serving", async () => {
    const s = await rawCall(rig.partnerAddress, path, "unary", [new Uint8Array()], {
      metadata: { authorization: `Bearer ${"t".repeat(200_000)}` },
    });
    expect(s.code).not.toBe(grpc.status.OK);
    expect(s.ms).toBeLessThan(10_000);
    expect(await healthStatus(rig.partnerAddress)).toBe(1);
    const ok = await rawCall(rig.partnerAddress, path, "unary", [new Uint8Array()], {
      metadata: { authorization: "Bearer x" },
    });
    expect(ok.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});
