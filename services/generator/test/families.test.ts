// The generator families of issues 21/22 (two-stage SPADE, StyleGAN2, DDPM) through the same gRPC surface as PGAN:
// a TrainGan job of a couple of steps with checkpoints, an exact resume from the store's latest checkpoint after an
// interrupted run, a reproducible Sample stream with provenance and valid masks, and a synthetic dataset in the
// ingest format. Demo architectures at 16x16 with the smallest widths, so each family costs a few seconds.
import { GanFamily, JobState, type SampleResponse } from "@synthmri/contracts";
import { decodeCheckpoint } from "@synthmri/ml";
import { GrpcStatus, receiveTensors, typedArrayOf } from "@synthmri/rpc";
import { asDatasetManifest, readDatasetSlices } from "@synthmri/volume";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreDatasetReader } from "../src/adapters/dataset-store.js";
import { CHECKPOINT_KIND, latestCheckpoint, listCheckpoints, STATE_FILE } from "../src/domain/checkpoints.js";
import { trainMember } from "../src/domain/training.js";
import { settingsFromProto } from "../src/handlers/convert.js";
import { type Harness, startHarness, writeToyDataset } from "./fixtures.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await writeToyDataset(h.artifacts, "toy", { train: 16, test: 4, size: 16 });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

// Two steps of 4 images, a checkpoint after each.
const CONFIG = {
  resolution: 16,
  latentDim: 8,
  fmapMax: 4,
  batchSize: 4,
  totalKimg: 0.008,
  checkpointEveryKimg: 0.004,
};

async function collect(stream: AsyncIterable<SampleResponse>) {
  const msgs: SampleResponse[] = [];
  for await (const m of stream) msgs.push(m);
  const tensors = [];
  for await (const t of receiveTensors(msgs, (m) => m.frame)) tensors.push(t);
  return { tensors, provenance: msgs.flatMap((m) => m.provenance), summary: msgs.find((m) => m.summary)?.summary };
}

const FAMILIES = [
  ["spade2stage", GanFamily.SPADE2STAGE, ["loss_d", "loss_g", "loss_fm", "loss_stage1_d"]],
  ["stylegan2", GanFamily.STYLEGAN2, ["loss_d", "loss_g"]],
  ["ddpm", GanFamily.DDPM, ["loss_loss"]],
] as const;

describe.each(FAMILIES)("family %s", (name, family, lossKeys) => {
  let ganId = "";

  it("trains as a TrainGan job with progress and checkpoints of its family", async () => {
    const res = await h.generator.trainGan({ datasetId: "toy", family, seed: 3, config: CONFIG, name });
    const statuses = await h.watch(res.jobId);
    const last = statuses[statuses.length - 1];
    expect(last.errorMessage).toBe("");
    expect(last.state).toBe(JobState.SUCCEEDED);
    ganId = res.ganId;
    const m = statuses.filter((s) => s.progress?.metrics.kimg !== undefined).pop()?.progress?.metrics ?? {};
    expect(m.kimg).toBeCloseTo(0.008, 6);
    expect(m.resolution).toBe(16);
    for (const k of lossKeys) expect(Number.isFinite(m[k]), `${k} in ${Object.keys(m)}`).toBe(true);
    const ids = await listCheckpoints(h.store, h.artifacts, ganId);
    expect(ids).toHaveLength(2);
    const latest = await latestCheckpoint(h.store, h.artifacts, ganId);
    expect(latest?.manifest).toMatchObject({ family: name, resolution: 16, final: true, kimg: 0.008 });
    const view = (await h.generator.getEnsemble({ ensembleId: ganId })).ensemble;
    expect(view?.family).toBe(family);
  }, 120_000);

  it("resumes exactly: an interrupted run continued from the store ends at the uninterrupted weights", async () => {
    const reader = new StoreDatasetReader(h.artifacts);
    const settings = settingsFromProto(family, CONFIG as never);
    const base = { ensembleId: "ens-resume", member: 0, seed: 3, datasetId: "toy", settings, concurrency: 1 };
    const deps = { artifacts: h.artifacts, store: h.store, datasets: reader };
    const ganIdB = `${ganId}-resumed`;
    const abort = new AbortController();
    await expect(
      trainMember(
        deps,
        { ...base, ganId: ganIdB },
        {
          signal: abort.signal,
          progress: (u) => {
            if (u.metrics?.checkpoint_kimg !== undefined) abort.abort();
          },
        },
      ),
    ).rejects.toThrow(/cancel/i);
    expect(await listCheckpoints(h.store, h.artifacts, ganIdB)).toHaveLength(1);
    const resumed = await trainMember(
      deps,
      { ...base, ganId: ganIdB },
      { signal: new AbortController().signal, progress: () => {} },
    );
    expect(resumed.resumedFromKimg).toBeCloseTo(0.004, 6);
    const weights = async (id: string) => {
      const latest = await latestCheckpoint(h.store, h.artifacts, id);
      const ckpt = decodeCheckpoint(
        new Uint8Array(await h.artifacts.readFile(CHECKPOINT_KIND, latest!.id, STATE_FILE)),
      );
      const st = ckpt.model as unknown as { weights: Record<string, { name: string; data: Float32Array }[]> };
      return Object.entries(st.weights).flatMap(([role, ws]) =>
        ws.map((w) => [`${role}/${w.name}`, Array.from(w.data)]),
      );
    };
    const a = await weights(ganId);
    expect(a.length).toBeGreaterThan(0);
    expect(await weights(ganIdB)).toEqual(a);
  }, 120_000);

  it("samples reproducibly with provenance and quantised masks, and writes a synthetic dataset", async () => {
    const req = { source: { ensembleId: ganId }, count: 3, seed: 9, batchSize: 2 };
    const one = await collect(h.generator.sample(req));
    const two = await collect(h.generator.sample(req));
    expect(one.summary?.delivered).toBe(3);
    expect(one.tensors.map((t) => t.shape)).toEqual([
      [2, 16, 16, 5],
      [1, 16, 16, 5],
    ]);
    expect(one.provenance.map((p) => [p.member, p.index, p.checkpointKimg])).toEqual([
      [0, 0, 0.008],
      [0, 1, 0.008],
      [0, 2, 0.008],
    ]);
    const bytes = one.tensors.map((t) => Array.from(typedArrayOf(t) as Uint8Array));
    expect(two.tensors.map((t) => Array.from(typedArrayOf(t) as Uint8Array))).toEqual(bytes);
    for (const b of bytes) for (let p = 4; p < b.length; p += 5) expect([0, 51, 102, 204]).toContain(b[p]);

    const res = await h.generator.createSyntheticDataset({ source: { ensembleId: ganId }, count: 4, seed: 2, name });
    const statuses = await h.watch(res.jobId);
    expect(statuses[statuses.length - 1].state).toBe(JobState.SUCCEEDED);
    const m = asDatasetManifest(await h.artifacts.getManifest("dataset", res.datasetId));
    expect(m.origin).toBe("synthetic");
    expect(m.sliceShape).toEqual([16, 16, 5]);
    let n = 0;
    for await (const b of readDatasetSlices(m, (p) => h.artifacts.readFile("dataset", res.datasetId, p), {
      split: "train",
    }))
      n += b.count;
    expect(n).toBe(4);
  }, 120_000);
});

describe("families as ensembles and bad configs", () => {
  it("trains a StyleGAN2 ensemble whose samples are split across members", async () => {
    const res = await h.generator.trainEnsemble({
      datasetId: "toy",
      members: 2,
      baseSeed: 4,
      concurrency: 2,
      family: GanFamily.STYLEGAN2,
      config: { ...CONFIG, totalKimg: 0.004 },
    });
    const statuses = await h.watch(res.jobId);
    expect(statuses[statuses.length - 1].state).toBe(JobState.SUCCEEDED);
    const got = await collect(h.generator.sample({ source: { ensembleId: res.ensembleId }, count: 4, seed: 1 }));
    expect(got.provenance.map((p) => p.member)).toEqual([0, 0, 1, 1]);
  }, 120_000);

  it("refuses a configuration the family cannot build with INVALID_ARGUMENT before any job starts", async () => {
    let err: { code?: number; details?: string } = {};
    try {
      await h.generator.trainGan({
        datasetId: "toy",
        family: GanFamily.SPADE2STAGE,
        seed: 1,
        config: { ...CONFIG, resolution: 8 },
      });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err.details).toMatch(/SPADE/);
  });
});

describe("two-stage sampling through seed 001's outlier filter on the generated label maps", () => {
  let ganId = "";
  beforeAll(async () => {
    const res = await h.generator.trainGan({
      datasetId: "toy",
      family: GanFamily.SPADE2STAGE,
      seed: 5,
      config: CONFIG,
    });
    const statuses = await h.watch(res.jobId);
    expect(statuses[statuses.length - 1].state).toBe(JobState.SUCCEEDED);
    ganId = res.ganId;
  }, 120_000);

  it("scores every sample's label map and counts the rejected ones in the summary and the dataset provenance", async () => {
    // Two steps of training leave stage 1 far from the real maps: a threshold between the samples' scores keeps
    // some and rejects the others.
    const loose = await collect(
      h.generator.sample({
        source: { ensembleId: ganId },
        count: 6,
        seed: 4,
        outlierFilter: { enabled: true, threshold: 1e9 },
      }),
    );
    expect(loose.summary).toMatchObject({ delivered: 6, rejected: 0, threshold: 1e9 });
    const scores = loose.provenance.map((p) => p.outlierScore);
    expect(scores.every((s) => s > 0)).toBe(true);
    const median = [...scores].sort((a, b) => a - b)[3];
    const strict = await collect(
      h.generator.sample({
        source: { ensembleId: ganId },
        count: 2,
        seed: 4,
        outlierFilter: { enabled: true, threshold: median },
      }),
    );
    expect(strict.summary?.rejected).toBeGreaterThan(0);
    // The kept ones are the latents whose maps scored at most the threshold, in order, with their scores.
    const expected = loose.provenance.filter((p) => p.outlierScore <= median).slice(0, 2);
    expect(strict.provenance.map((p) => [p.index, p.outlierScore])).toEqual(
      expected.map((p) => [p.index, p.outlierScore]),
    );

    const res = await h.generator.createSyntheticDataset({
      source: { ensembleId: ganId },
      count: 2,
      seed: 4,
      outlierFilter: { enabled: true, threshold: median },
    });
    const statuses = await h.watch(res.jobId);
    expect(statuses[statuses.length - 1].state).toBe(JobState.SUCCEEDED);
    const prov = (await h.artifacts.getManifest("dataset", res.datasetId)).provenance as Record<string, unknown>;
    expect(prov).toMatchObject({ delivered: 2, rejected: strict.summary?.rejected, outlierFilteredOn: "label-maps" });
  }, 120_000);

  it("calibrates the threshold on the dataset's real held-out label maps when none is given", async () => {
    const res = await h.generator.createSyntheticDataset({
      source: { ensembleId: ganId },
      count: 1,
      seed: 4,
      outlierFilter: { enabled: true, calibratePercentile: 100 },
    });
    const statuses = await h.watch(res.jobId);
    const last = statuses[statuses.length - 1];
    // Whether the untrained maps pass or not, the calibration is the held-out real maps' (4 test slices here).
    if (last.state === JobState.SUCCEEDED) {
      const prov = (await h.artifacts.getManifest("dataset", res.datasetId)).provenance as {
        outlierCalibration?: { percentile: number; heldOutSlices: number; heldOutNorms: { max: number } };
        outlierThreshold: number;
      };
      expect(prov.outlierCalibration).toMatchObject({ percentile: 100, heldOutSlices: 4 });
      expect(prov.outlierThreshold).toBe(prov.outlierCalibration?.heldOutNorms.max);
    } else expect(last.errorMessage).toMatch(/outlier filter \(on the generated label maps, threshold/);
  }, 120_000);
});
