// PartnerService over real gRPC with the embedded S3, on the generator's partner listener (startServer with a
// partner config; FakeSampler instead of GAN sampling): a partner requests a bundle through the CLI (progress,
// download, checksums, unpack) and the bundle validates (nnU-Net layout, dataset.json, certificate, per-sample
// provenance, memorized sample blocked); tensor shards through a presigned URL; auth failures; quota; audit.
// The listener split itself (what each port serves, the partner-scoped job view) is partner-listener.test.ts.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BundleFormat, PartnerService } from "@synthmri/contracts";
import { ArtifactStore, JobRunner, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import { decodeShard, readNifti } from "@synthmri/volume";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run as partnerCli } from "../../../cli/src/commands/partner.js";
import { parsePartnerConfig } from "../src/partner/adapters/partner-config.js";
import { AUDIT_PREFIX } from "../src/partner/domain/audit.js";
import { readTar } from "../src/partner/domain/tar.js";
import { sha256Hex } from "../src/partner/domain/tokens.js";
import type { PartnerEndpoint } from "../src/partner/handlers/partner.js";
import { nnunetFolder } from "../src/partner/domain/formats.js";
import { type StartedServer, startServer } from "../src/server.js";
import { CHANNELS, FakeSampler, realSlices, SIZE } from "./partner-fixtures.js";
import { rpcFailure as failure } from "@synthmri/rpc/testing";

let dir: string;
let s3: Awaited<ReturnType<typeof startEmbeddedS3>>;
let store: MinioObjectStore;
let server: StartedServer;
let jobs: JobRunner;
/** The partner listener. */
let addr: string;
let partner: PartnerEndpoint;
const real = realSlices(40);
const per = SIZE * SIZE * CHANNELS;

const client = (token?: string) =>
  createClient(PartnerService, addr, token ? { metadata: { authorization: `Bearer ${token}` } } : {});

async function auditEvents(name: string): Promise<Record<string, unknown>[]> {
  await partner.audit.flush();
  const day = new Date().toISOString().slice(0, 10);
  const out = [];
  for await (const o of store.listObjects(`${AUDIT_PREFIX}${day}/${name}/`))
    out.push(JSON.parse((await store.getBuffer(o.key)).toString("utf8")));
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "partner-svc-"));
  s3 = await startEmbeddedS3({ dataDir: dir });
  store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  const artifacts = new ArtifactStore({ store });
  jobs = new JobRunner({ store, service: "generator", persistIntervalMs: 50 });
  const file = join(dir, "partners.json");
  const licenceFile = join(dir, "licence.txt");
  await writeFile(licenceFile, "Research use only. No re-identification attempts.\n");
  const text = JSON.stringify({
    partners: [
      {
        name: "acme",
        tokenSha256: sha256Hex("tok-acme"),
        scopes: ["datasets:request", "datasets:read"],
        imagesPerDay: 100,
      },
      { name: "reader", tokenSha256: sha256Hex("tok-reader"), scopes: ["datasets:read"], imagesPerDay: 100 },
      {
        name: "small",
        tokenSha256: sha256Hex("tok-small"),
        scopes: ["datasets:request", "datasets:read"],
        imagesPerDay: 5,
      },
    ],
    licenceFile: "licence.txt",
    defaultEnsembleId: "ens-test",
  });
  await writeFile(file, text);
  // Latent 1 of every round is a copy of real training slice 7: the gate must block it.
  const sampler = new FakeSampler({ real, inject: new Map([[1, real.data.slice(7 * per, 8 * per)]]) });
  server = await startServer(
    { artifacts, store, jobs },
    { partner: { config: await parsePartnerConfig(text, file), sampler: () => sampler } },
  );
  if (!server.partner) throw new Error("an enabled partner config must open the partner listener");
  partner = server.partner.endpoint;
  addr = server.partner.address;
});

afterAll(async () => {
  await server?.close(1000);
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("PartnerService", () => {
  it("delivers a certified nnU-Net bundle through the CLI; the memorized sample is never exported", async () => {
    const out = join(dir, "bundle-nnunet");
    const lines: string[] = [];
    const errs: string[] = [];
    const code = await partnerCli(["request", "--size", "6", "--format", "nnunet", "--out", out, "--seed", "11"], {
      out: (l) => lines.push(l),
      err: (l) => errs.push(l),
      // The partner's address comes from the environment here (WatchJob too goes to the partner listener).
      env: { SYNTHMRI_PARTNER_TOKEN: "tok-acme", SYNTHMRI_PARTNER_ADDR: addr },
    });
    expect(code, errs.join("\n")).toBe(0);
    const result = JSON.parse(lines[0]);
    expect(result).toMatchObject({ images: 6, utility: "no evaluation yet" });
    expect(result.rejectedMemorization).toBeGreaterThanOrEqual(1);
    expect(errs.join("\n")).toMatch(/sha256 verified/);

    // nnU-Net v2: one DatasetNNN_Name/ folder (nnUNet_raw layout) and a dataset card at the root.
    const folders = (await readdir(out)).filter((f) => /^Dataset\d{3}_[A-Za-z0-9]+$/.test(f));
    expect(folders).toEqual([nnunetFolder(result.bundleId)]);
    const ds0 = join(out, folders[0]);
    const images = (await readdir(join(ds0, "imagesTr"))).sort();
    const labels = (await readdir(join(ds0, "labelsTr"))).sort();
    expect(images).toHaveLength(24);
    expect(images.slice(0, 4)).toEqual([
      "case_0000_0000.nii.gz",
      "case_0000_0001.nii.gz",
      "case_0000_0002.nii.gz",
      "case_0000_0003.nii.gz",
    ]);
    expect(labels).toEqual(Array.from({ length: 6 }, (_, i) => `case_${String(i).padStart(4, "0")}.nii.gz`));
    const ds = JSON.parse(await readFile(join(ds0, "dataset.json"), "utf8"));
    expect(ds).not.toHaveProperty("tensorImageSize"); // nnU-Net v1 only
    expect(ds).toMatchObject({
      numTraining: 6,
      file_ending: ".nii.gz",
      channel_names: { "0": "T1", "1": "T1ce", "2": "T2", "3": "FLAIR" },
      labels: { background: 0, "whole tumour": [1, 2, 3], "tumour core": [1, 3], "enhancing tumour": [3] },
    });
    const label = readNifti(await readFile(join(ds0, "labelsTr", labels[0])));
    expect(label.shape).toEqual([SIZE, SIZE, 1]);
    expect([...new Set(label.data as Uint8Array)].every((v) => v <= 3)).toBe(true);
    const img = readNifti(await readFile(join(ds0, "imagesTr", images[0])));
    const card = await readFile(join(out, "README.md"), "utf8");
    expect(card).toContain(`bundle ${result.bundleId}`);
    expect(card).toContain(`${folders[0]}/`);
    expect(card).toMatch(/memorization screen: .* 0\.95 .* \d+ rejected/s);
    expect(card).toContain("No evaluation of this ensemble yet");
    expect(card).toMatch(/Research use only/);
    expect(img.shape).toEqual([SIZE, SIZE, 1]);

    const cert = JSON.parse(await readFile(join(out, "certificate.json"), "utf8"));
    expect(cert).toMatchObject({ ensembleId: "ens-test", utilityStatus: "no evaluation yet", delivered: 6, seed: 11 });
    expect(cert.licence).toMatch(/Research use only/);
    expect(cert.rejectedAnatomy).toBeGreaterThanOrEqual(1); // latent 4 is outside the brain
    expect(cert.quality.exported_max_ncc).toBeLessThan(0.95);
    const prov = JSON.parse(await readFile(join(out, "provenance.json"), "utf8"));
    expect(prov.samples).toHaveLength(6);
    for (const s of prov.samples) {
      expect(s).toMatchObject({ ensembleId: "ens-test", checkpointKimg: 1.5 });
      expect(s.index).not.toBe(1); // the injected real slice
      expect(s.maxNcc).toBeLessThan(0.95);
    }
    expect(await readFile(join(out, "LICENCE.txt"), "utf8")).toMatch(/Research use only/);

    const { bundle } = await client("tok-acme").getBundle({ bundleId: result.bundleId });
    expect(bundle?.certificate?.rejectedMemorization).toBe(result.rejectedMemorization);
    expect(bundle?.certificate?.utilityStatus).toBe("no evaluation yet");
    expect(bundle?.files.map((f) => f.key.split("/").pop())).toEqual(
      expect.arrayContaining(["bundle.tar", "certificate.json", "provenance.json", "dataset.json"]),
    );

    const events = await auditEvents("acme");
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["request.accepted", "export", "call"]));
    // The CLI followed its job through the partner listener, and that call was audited too.
    expect(events.some((e) => e.type === "call" && e.method === "JobService.WatchJob" && e.code === "OK")).toBe(true);
    const exp = events.find((e) => e.type === "export") as { files: { name: string; sha256: string }[] };
    const labelSha = createHash("sha256")
      .update(await readFile(join(ds0, "labelsTr", labels[0])))
      .digest("hex");
    expect(exp.files.find((f) => f.name === `${folders[0]}/labelsTr/${labels[0]}`)?.sha256).toBe(labelSha);
  });

  it("delivers tensor shards through a presigned URL", async () => {
    const c = client("tok-acme");
    const res = await c.requestSyntheticDataset({
      size: 3,
      format: BundleFormat.TENSOR_SHARDS,
      purpose: "segmentation research",
    });
    const final = await jobs.wait(res.jobId);
    expect(final.state, final.error?.message).toBe("SUCCEEDED");
    const url = await c.getDownloadUrl({ bundleId: res.bundleId, expiresInSeconds: 600 });
    expect(url.expiresAt).toBeDefined();
    const bytes = new Uint8Array(await (await fetch(url.url)).arrayBuffer());
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(url.archive?.sha256);
    const entries = new Map([...readTar(bytes)].map((e) => [e.name, e.data]));
    const shard = decodeShard(entries.get("shards/train-00000.shard") as Uint8Array);
    expect(shard.count).toBe(3);
    expect([shard.height, shard.width, shard.channels]).toEqual([SIZE, SIZE, CHANNELS]);
    expect(entries.has("certificate.json")).toBe(true);
    expect((await auditEvents("acme")).some((e) => e.type === "download.url")).toBe(true);
    await expect(c.getDownloadUrl({ bundleId: res.bundleId, expiresInSeconds: 8 * 24 * 3600 })).rejects.toMatchObject({
      code: 3,
    });
  });

  it("refuses missing and wrong tokens, missing scopes and other partners' bundles", async () => {
    const none = await failure(client().getBundle({ bundleId: "pb-abcdef" }));
    expect(none.code).toBe(16);
    expect(none.details).toMatch(/missing partner token/);
    const wrong = await failure(client("tok-nope").requestSyntheticDataset({ size: 1 }));
    expect(wrong.code).toBe(16);
    const scope = await failure(client("tok-reader").requestSyntheticDataset({ size: 1 }));
    expect(scope.code).toBe(7);
    expect(scope.details).toMatch(/datasets:request/);
    const mine = await client("tok-acme").requestSyntheticDataset({ size: 1 });
    await jobs.wait(mine.jobId);
    const theirs = await failure(client("tok-reader").getBundle({ bundleId: mine.bundleId }));
    expect(theirs.code).toBe(5);
    const bad = await failure(client("tok-acme").requestSyntheticDataset({ size: 0 }));
    expect(bad.code).toBe(3);
    const unknown = await failure(client("tok-acme").requestSyntheticDataset({ size: 1, ensembleId: "ens-missing" }));
    expect(unknown.code).toBe(5);
    const errs: string[] = [];
    const cli = await partnerCli(
      ["request", "--size", "1", "--out", join(dir, "x"), "--addr", addr, "--token", "tok-nope"],
      {
        out: () => undefined,
        err: (l) => errs.push(l),
        env: {},
      },
    );
    expect(cli).toBe(1);
    expect(errs.join("\n")).toMatch(/Unauthenticated: invalid partner token/);
    const anon = await auditEvents("_unknown");
    expect(anon.some((e) => e.code === "UNAUTHENTICATED")).toBe(true);
    expect((await auditEvents("reader")).some((e) => e.code === "PERMISSION_DENIED")).toBe(true);
  });

  it("enforces the images-per-day quota", async () => {
    const c = client("tok-small");
    const first = await c.requestSyntheticDataset({ size: 4 });
    const over = await failure(c.requestSyntheticDataset({ size: 2 }));
    expect(over.code).toBe(8);
    expect(over.details).toMatch(/used 4 of 5 images .* 1 left, 2 requested/);
    expect((await jobs.wait(first.jobId)).state).toBe("SUCCEEDED");
    const events = await auditEvents("small");
    expect(events.filter((e) => e.type === "request.accepted")).toHaveLength(1);
    expect(events.some((e) => e.type === "request.refused")).toBe(true);
  });
});
