// Path and prefix abuse (issue 17.3/17.4): ImportDirectory reads only IMPORT_ROOTS (default: the data dir)
// and IMPORT_S3_PREFIXES (default: <bucket>/imports/), refusing the rest with PERMISSION_DENIED before it
// lists anything; a malformed bucket is INVALID_ARGUMENT. Against the production entrypoint.
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { IngestService, PartnerService } from "@synthmri/contracts";
import { type Client, createClient, type RpcError } from "@synthmri/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Rig, startRig } from "./rig.js";

let rig: Rig;
let ingest: Client<typeof IngestService.method>;
beforeAll(async () => {
  rig = await startRig({ services: ["ingest", "generator"] });
  ingest = createClient(IngestService, rig.address.ingest, { retry: false });
}, 180_000);
afterAll(async () => {
  ingest?.close();
  await rig?.close();
});

async function importStatus(source: Parameters<typeof ingest.importDirectory>[0]["source"]): Promise<RpcError> {
  try {
    for await (const _ of ingest.importDirectory({ source }, { deadlineMs: 20_000 })) {
      // a refused source never starts a job
    }
  } catch (e) {
    return e as RpcError;
  }
  throw new Error("expected the import to be refused");
}

const PERMISSION_DENIED = 7;
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;

describe("ImportDirectory sources", () => {
  it.each(["/etc", "/proc/self/root/etc", "/", "/tmp"])("refuses local_path %s outside IMPORT_ROOTS", async (path) => {
    const e = await importStatus({ case: "localPath", value: path });
    expect(e.code, e.details).toBe(PERMISSION_DENIED);
    expect(e.details).toMatch(/IMPORT_ROOTS/);
  });

  it("refuses a path that climbs out of the data dir and a symlink inside it that points out", async () => {
    const dataDir = rig.env.SYNTHMRI_DATA_DIR!;
    expect((await importStatus({ case: "localPath", value: join(dataDir, "..", "..") })).code).toBe(PERMISSION_DENIED);
    mkdirSync(join(dataDir, "cohorts"), { recursive: true });
    symlinkSync("/etc", join(dataDir, "cohorts", "escape"));
    expect((await importStatus({ case: "localPath", value: join(dataDir, "cohorts", "escape") })).code).toBe(
      PERMISSION_DENIED,
    );
  });

  it("still answers inside the data dir (NOT_FOUND for a missing directory)", async () => {
    const e = await importStatus({ case: "localPath", value: join(rig.env.SYNTHMRI_DATA_DIR!, "no-such-cohort") });
    expect(e.code, e.details).toBe(NOT_FOUND);
  });

  it.each([
    ["", ""],
    ["", "uploads/"],
    ["", "dataset/"],
    ["hospital", "brats/"],
  ])("refuses s3_prefix bucket=%j prefix=%j outside IMPORT_S3_PREFIXES", async (bucket, prefix) => {
    const e = await importStatus({ case: "s3Prefix", value: { bucket, prefix } });
    expect(e.code, e.details).toBe(PERMISSION_DENIED);
    expect(e.details).toMatch(/IMPORT_S3_PREFIXES/);
  });

  it.each(["../synthmri", "UPPER", "a", "x".repeat(64), "bad..dots"])(
    "s3_prefix.bucket %j is INVALID_ARGUMENT",
    async (bucket) => {
      const e = await importStatus({ case: "s3Prefix", value: { bucket, prefix: "imports/" } });
      expect(e.code, e.details).toBe(INVALID_ARGUMENT);
    },
  );

  it("an allowed prefix with nothing in it is a clear error, not INTERNAL", async () => {
    const e = await importStatus({ case: "s3Prefix", value: { bucket: "", prefix: "imports/empty/" } });
    expect([INVALID_ARGUMENT, NOT_FOUND, 9]).toContain(e.code);
  });
});

describe("partner isolation", () => {
  it("partner calls need a token on the partner port, and the internal port does not serve them", async () => {
    const anonymous = createClient(PartnerService, rig.partnerAddress, { retry: false });
    const internal = createClient(PartnerService, rig.address.generator, { retry: false });
    try {
      await expect(anonymous.getBundle({ bundleId: "pb-000000" })).rejects.toMatchObject({ code: 16 });
      await expect(internal.getBundle({ bundleId: "pb-000000" })).rejects.toMatchObject({ code: 12 });
    } finally {
      anonymous.close();
      internal.close();
    }
  });
});
