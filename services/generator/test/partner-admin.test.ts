// PartnerAdminService over real gRPC with the embedded S3: served on the generator's INTERNAL port only; lists
// partner requests folded from the audit log (building -> ready, failed, revoked, URL expiry), pages the audit
// log newest first with partner/type/time filters, and revokes a bundle (audited, files deleted, the partner
// then gets NOT_FOUND).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BundleFormat, BundleStatus, PartnerAdminService, PartnerService } from "@synthmri/contracts";
import { ArtifactStore, JobRunner, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { createClient, GrpcStatus } from "@synthmri/rpc";
import { rpcFailure as failure } from "@synthmri/rpc/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePartnerConfig } from "../src/partner/adapters/partner-config.js";
import { parseAuditKey } from "../src/partner/domain/admin.js";
import { sha256Hex } from "../src/partner/domain/tokens.js";
import { type StartedServer, startServer } from "../src/server.js";
import { FakeSampler, realSlices } from "./partner-fixtures.js";

let dir: string;
let s3: Awaited<ReturnType<typeof startEmbeddedS3>>;
let store: MinioObjectStore;
let server: StartedServer;
let jobs: JobRunner;

const partnerClient = (token: string) =>
  createClient(PartnerService, server.partner!.address, { metadata: { authorization: `Bearer ${token}` } });
const admin = () => createClient(PartnerAdminService, server.address);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "partner-admin-"));
  s3 = await startEmbeddedS3({ dataDir: dir });
  store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  jobs = new JobRunner({ store, service: "generator", persistIntervalMs: 50 });
  const file = join(dir, "partners.json");
  const text = JSON.stringify({
    partners: [
      {
        name: "acme",
        tokenSha256: sha256Hex("tok-acme"),
        scopes: ["datasets:request", "datasets:read"],
        imagesPerDay: 100,
      },
      {
        name: "beta",
        tokenSha256: sha256Hex("tok-beta"),
        scopes: ["datasets:request", "datasets:read"],
        imagesPerDay: 100,
      },
    ],
    defaultEnsembleId: "ens-test",
  });
  await writeFile(file, text);
  const sampler = new FakeSampler({ real: realSlices(20) });
  server = await startServer(
    { artifacts: new ArtifactStore({ store }), store, jobs },
    { partner: { config: await parsePartnerConfig(text, file), sampler: () => sampler } },
  );
}, 60_000);

afterAll(async () => {
  await server?.close(1000);
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("PartnerAdminService", () => {
  it("is on the internal port only", async () => {
    const onPartnerPort = createClient(PartnerAdminService, server.partner!.address, {
      metadata: { authorization: "Bearer tok-acme" },
    });
    try {
      const e = await failure(onPartnerPort.listBundles({}));
      expect([GrpcStatus.UNIMPLEMENTED, GrpcStatus.PERMISSION_DENIED]).toContain(e.code);
    } finally {
      onPartnerPort.close();
    }
  });

  it("lists bundles and audit events, and revokes a delivered bundle", async () => {
    const acme = partnerClient("tok-acme");
    const beta = partnerClient("tok-beta");
    const a = admin();
    try {
      const first = await acme.requestSyntheticDataset({
        size: 3,
        format: BundleFormat.TENSOR_SHARDS,
        seed: 5,
        purpose: "tumour seg pretraining",
      });
      expect((await jobs.wait(first.jobId)).state).toBe("SUCCEEDED");
      await acme.getDownloadUrl({ bundleId: first.bundleId, expiresInSeconds: 600 });
      const second = await beta.requestSyntheticDataset({ size: 2, format: BundleFormat.NNUNET, seed: 6, purpose: "" });
      expect((await jobs.wait(second.jobId)).state).toBe("SUCCEEDED");
      const refused = await failure(acme.requestSyntheticDataset({ size: 100_000 }));
      expect(refused.code).toBe(GrpcStatus.INVALID_ARGUMENT);
      await server.partner!.endpoint.audit.flush();

      const { bundles } = await a.listBundles({});
      expect(bundles.map((b) => b.bundleId)).toEqual([second.bundleId, first.bundleId]); // newest first
      const b1 = bundles[1];
      expect(b1).toMatchObject({
        partner: "acme",
        jobId: first.jobId,
        ensembleId: "ens-test",
        requested: 3,
        delivered: 3,
        purpose: "tumour seg pretraining",
        status: BundleStatus.READY,
        utilityStatus: "no evaluation yet",
      });
      expect(b1.archiveBytes).toBeGreaterThan(0n);
      expect(b1.urlExpiresAt).toBeDefined();
      expect(bundles[0].urlExpiresAt).toBeUndefined();
      expect((await a.listBundles({ partner: "beta" })).bundles.map((b) => b.bundleId)).toEqual([second.bundleId]);
      const paged = await a.listBundles({ pageSize: 1 });
      expect(paged.bundles).toHaveLength(1);
      expect((await a.listBundles({ pageSize: 1, pageToken: paged.nextPageToken })).bundles[0].bundleId).toBe(
        first.bundleId,
      );

      // Audit: newest first, filters, pages that neither skip nor repeat.
      const all = await a.listAuditEvents({ pageSize: 1000 });
      const times = all.events.map((e) => Number(e.at!.seconds) * 1e3 + e.at!.nanos / 1e6);
      expect(times).toEqual([...times].sort((x, y) => y - x));
      expect(all.events.some((e) => e.type === "request.refused" && e.partner === "acme")).toBe(true);
      const exports = await a.listAuditEvents({ type: "export" });
      expect(exports.events.map((e) => e.bundleId).sort()).toEqual([first.bundleId, second.bundleId].sort());
      expect(JSON.parse(exports.events[0].json).files.length).toBeGreaterThan(0);
      const betaOnly = await a.listAuditEvents({ partner: "beta" });
      expect(betaOnly.events.length).toBeGreaterThan(0);
      expect(betaOnly.events.every((e) => e.partner === "beta")).toBe(true);
      const seen: string[] = [];
      let token = "";
      do {
        const page = await a.listAuditEvents({ pageSize: 3, pageToken: token });
        seen.push(...page.events.map((e) => e.json));
        token = page.nextPageToken;
      } while (token);
      expect(seen).toEqual(all.events.map((e) => e.json));
      const future = await a.listAuditEvents({
        since: timestampFromDate(new Date(Date.now() + 3_600_000)),
        until: timestampFromDate(new Date(Date.now() + 7_200_000)),
      });
      expect(future.events).toEqual([]);
      expect((await failure(a.listAuditEvents({ partner: "../x" }))).code).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect((await failure(a.listAuditEvents({ pageToken: "bogus" }))).code).toBe(GrpcStatus.INVALID_ARGUMENT);

      // Revocation: reason required, audited, files gone for the partner, idempotent.
      expect((await failure(a.revokeBundle({ bundleId: first.bundleId, reason: " " }))).code).toBe(
        GrpcStatus.INVALID_ARGUMENT,
      );
      expect((await failure(a.revokeBundle({ bundleId: "pb-unknown-000", reason: "x" }))).code).toBe(
        GrpcStatus.NOT_FOUND,
      );
      const revoked = await a.revokeBundle({ bundleId: first.bundleId, reason: "consent withdrawn" });
      expect(revoked.bundle).toMatchObject({ status: BundleStatus.REVOKED, reason: "consent withdrawn" });
      expect((await failure(acme.getBundle({ bundleId: first.bundleId }))).code).toBe(GrpcStatus.NOT_FOUND);
      const again = await a.revokeBundle({ bundleId: first.bundleId, reason: "again" });
      expect(again.bundle?.status).toBe(BundleStatus.REVOKED);
      const rev = await a.listAuditEvents({ type: "bundle.revoked" });
      expect(rev.events).toHaveLength(1);
      expect(JSON.parse(rev.events[0].json)).toMatchObject({ partner: "acme", reason: "consent withdrawn" });
      expect((await a.listBundles({ partner: "acme" })).bundles[0].status).toBe(BundleStatus.REVOKED);
    } finally {
      acme.close();
      beta.close();
      a.close();
    }
  }, 120_000);

  it("parses the audit keys AuditLog writes", () => {
    expect(
      parseAuditKey(
        "audit/partner/2026-12-02/acme/2026-12-02T053615123Z-request.accepted-0123456789abcdef01234567.json",
      ),
    ).toEqual({
      partner: "acme",
      at: new Date("2026-12-02T05:36:15.123Z"),
      type: "request.accepted",
    });
    expect(parseAuditKey("audit/partner/2026-12-02/acme/notes.txt")).toBeUndefined();
  });
});
