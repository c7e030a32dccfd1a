// The partner flow on the generator's real sampling path: an untrained tiny GAN committed as a checkpoint of a
// one-member ensemble, sampled through GeneratorPartnerSampler (domain/sampling.ts), screened and bundled.
// Untrained output is fine for the flow: what matters is the wiring (shapes, mask levels, provenance).
import { createGan, defaultGanConfig, encodeCheckpoint, Rng, tf } from "@synthmri/ml";
import { ArtifactStore, MemoryObjectStore } from "@synthmri/platform";
import { beforeAll, describe, expect, it } from "vitest";
import { GeneratorPartnerSampler } from "../src/partner/adapters/partner-sampler.js";
import { CHECKPOINT_KIND, type CheckpointFields, checkpointId, STATE_FILE } from "../src/domain/checkpoints.js";
import { checkAnatomy } from "../src/partner/domain/anatomy.js";
import { DEFAULT_PARTNER_SETTINGS, runPartnerRequest } from "../src/partner/domain/request.js";
import type { DatasetReader } from "../src/domain/ports.js";
import { ENSEMBLE_KIND } from "../src/domain/ensembles.js";
import { EnsembleRegistry } from "../src/domain/registry.js";
import { realSlices } from "./partner-fixtures.js";

const RES = 16;
let sampler: GeneratorPartnerSampler;
let artifacts: ArtifactStore;

beforeAll(async () => {
  await tf.setBackend("cpu");
  const store = new MemoryObjectStore();
  await store.ensureBucket();
  artifacts = new ArtifactStore({ store });
  const config = defaultGanConfig({ family: "dcgan", resolution: RES, latentSize: 8, fmapBase: 32, fmapMax: 8 });
  const model = createGan(config, 5);
  const bytes = encodeCheckpoint({
    model: model.state(),
    trainer: { images: 1000, rng: new Rng(1).getState(), seconds: 0 },
  });
  model.dispose();
  const ganId = "ens-u-m0";
  const w = await artifacts.beginArtifact(CHECKPOINT_KIND, checkpointId(ganId, 1000));
  await w.putFile(STATE_FILE, bytes);
  const fields: CheckpointFields = {
    ganId,
    ensembleId: "ens-u",
    member: 0,
    seed: 5,
    datasetId: "ds-u",
    family: "dcgan",
    images: 1000,
    kimg: 1,
    resolution: RES,
    finalResolution: RES,
    level: 0,
    alpha: 1,
    swd: 42,
    final: true,
  };
  await w.commit({ inputs: [], params: {}, extra: fields as unknown as Record<string, unknown> });
  await new EnsembleRegistry(store).save({
    id: "ens-u",
    name: "untrained",
    datasetId: "ds-u",
    settings: { family: "dcgan", resolution: RES },
    baseSeed: 5,
    concurrency: 1,
    jobId: "",
    createdAt: new Date().toISOString(),
    single: false,
    members: [{ index: 0, seed: 5, ganId, jobId: "" }],
  });
  const real = realSlices(10, 7, RES);
  const datasets: DatasetReader = {
    async describe() {
      throw new Error("unused");
    },
    async loadTrain(_id, { size }) {
      expect(size).toBe(RES);
      return { count: real.n, size: RES, channels: real.c, data: real.data };
    },
  };
  sampler = new GeneratorPartnerSampler({ artifacts, store, registry: new EnsembleRegistry(store), datasets });
});

describe("GeneratorPartnerSampler", () => {
  it("describes the ensemble and samples uint8 slices with mask levels and provenance", async () => {
    const info = await sampler.describe("ens-u");
    expect(info).toMatchObject({ ensembleId: "ens-u", datasetId: "ds-u", resolution: RES });
    expect(info.members).toEqual([{ index: 0, ganId: "ens-u-m0", checkpointKimg: 1, swd: 42 }]);
    const batches = [];
    for await (const b of sampler.sample("ens-u", 5, 77)) batches.push(b);
    const n = batches.reduce((a, b) => a + b.count, 0);
    expect(n).toBe(5);
    const b = batches[0];
    expect([b.size, b.channels]).toEqual([RES, 5]);
    expect(b.data).toBeInstanceOf(Uint8Array);
    expect(b.origins[0]).toMatchObject({ ensembleId: "ens-u", member: 0, ganId: "ens-u-m0", seed: 77 });
    // Every mask value is a label level, so the label rule holds for the real sampling path.
    const v = checkAnatomy(b.data, 0, RES, RES, 5);
    expect(v.reason).not.toBe("labels");
    const real = await sampler.realTrainSlices("ds-u", RES);
    expect([real.n, real.h, real.c]).toEqual([10, RES, 5]);
    // Same seed, same samples.
    const again = [];
    for await (const x of sampler.sample("ens-u", 5, 77)) again.push(x);
    expect(Buffer.from(again[0].data).equals(Buffer.from(b.data))).toBe(true);
  });

  it("runs a whole partner request on the untrained ensemble (all-oedema masks pass; the gate sees real slices)", async () => {
    const r = await runPartnerRequest(
      { artifacts, sampler, settings: DEFAULT_PARTNER_SETTINGS },
      {
        bundleId: "pb-untrained-1",
        partner: "acme",
        ensembleId: "ens-u",
        size: 3,
        format: "nnunet",
        filters: { minTumorFraction: 0, maxTumorFraction: 0, requireAllClasses: false },
        seed: 4,
        purpose: "",
      },
      { jobId: "job-u", signal: new AbortController().signal, progress: () => undefined },
    );
    expect(r.delivered).toBe(3);
    expect(r.certificate).toMatchObject({
      realTrainSlices: 10,
      rejectedMemorization: 0,
      quality: { checkpoint_swd_x1e3_mean: 42 },
    });
    expect(r.entries.filter((e) => /^Dataset\d{3}_SynthMRI\w*\/imagesTr\//.test(e.name))).toHaveLength(12);
    expect(r.entries.map((e) => e.name)).toContain("README.md");
  });

  it("lists an ensemble once its training committed the ensemble artifact, with its card facts", async () => {
    expect(await sampler.listEnsembles()).toEqual([]);
    const w = await artifacts.beginArtifact(ENSEMBLE_KIND, "ens-u");
    await w.commit({ inputs: [], params: {}, extra: { ensembleId: "ens-u" } });
    expect(await sampler.listEnsembles()).toEqual(["ens-u"]);
    const info = await sampler.describe("ens-u");
    expect(info).toMatchObject({ name: "untrained", family: "dcgan" });
    expect(Date.parse(info.createdAt ?? "")).not.toBeNaN();
    // No dataset manifest in this store: the card says zero rather than failing.
    expect(info.training).toEqual({ subjects: 0, slices: 0 });
  });

  it("names an unknown ensemble", async () => {
    await expect(sampler.describe("ens-none")).rejects.toMatchObject({ kind: "NotFound" });
  });
});
