// The generator over real gRPC with the embedded store: a training job end to end (WatchJob progress,
// checkpoints with SWD + sample grid), sampling (reproducible, quantized masks, label schemes, outlier
// filter), an ensemble whose samples are split across members, a synthetic dataset in the ingest format,
// cancellation, and clear statuses for bad input while the server stays up.
import { DataType, GanFamily, JobState, LabelScheme, type SampleResponse } from "@synthmri/contracts";
import { GrpcStatus, receiveTensors, type RpcError, typedArrayOf } from "@synthmri/rpc";
import { asDatasetManifest, readDatasetSlices } from "@synthmri/volume";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness, TINY, writeToyDataset } from "./fixtures.js";

let h: Harness;
let ganId = "";

beforeAll(async () => {
  h = await startHarness();
  await writeToyDataset(h.artifacts, "toy", { train: 64, test: 8, size: 16 });
  await writeToyDataset(h.artifacts, "empty", { train: 0, test: 8, size: 16 });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as RpcError).code, details: (e as RpcError).details };
  }
  throw new Error("expected the call to fail");
}

async function collect(stream: AsyncIterable<SampleResponse>) {
  const provenance: SampleResponse["provenance"] = [];
  let summary: SampleResponse["summary"];
  const msgs: SampleResponse[] = [];
  for await (const m of stream) {
    msgs.push(m);
    provenance.push(...m.provenance);
    if (m.summary) summary = m.summary;
  }
  const tensors = [];
  for await (const t of receiveTensors(msgs, (m) => m.frame)) tensors.push(t);
  return { tensors, provenance, summary };
}

describe("TrainGan", () => {
  it("trains a small PGAN as a job: progress through the phases, checkpoints with SWD and a PNG grid", async () => {
    // 4x4 (32 images), fade 8x8 (32), 8x8 (32), fade 16x16 (32), 16x16 (32): 160 images, 20 steps.
    const res = await h.generator.trainGan({
      datasetId: "toy",
      family: GanFamily.PGAN,
      seed: 7,
      config: { ...TINY, totalKimg: 0.16 },
      name: "tiny",
    });
    expect(res.ganId).toMatch(/^gan-/);
    const statuses = await h.watch(res.jobId);
    const last = statuses[statuses.length - 1];
    expect(last.errorMessage).toBe("");
    expect(last.state).toBe(JobState.SUCCEEDED);
    expect(last.outputs.gan_id).toBe(res.ganId);
    const progress = statuses.filter((s) => s.progress?.metrics.kimg !== undefined);
    expect(progress.length).toBeGreaterThan(3);
    const phases = new Set(progress.map((s) => s.progress?.phase));
    expect([...phases].some((p) => p?.startsWith("fade-in"))).toBe(true);
    const m = progress[progress.length - 1].progress!.metrics;
    for (const k of ["kimg", "resolution", "loss_d", "loss_g", "loss_gp", "images_per_second", "swd"])
      expect(Number.isFinite(m[k]), k).toBe(true);
    expect(m.resolution).toBe(16);
    expect(m.kimg).toBeCloseTo(0.16, 6);

    // Checkpoints at 64, 128 and 160 images (the last one final), each with state, quality and grid.
    const ckpts = (await h.artifacts.listArtifacts("gan-checkpoint")).filter((a) => a.id.startsWith(res.ganId));
    expect(ckpts.map((c) => c.id).sort()).toEqual(
      [64, 128, 160].map((i) => `${res.ganId}.i${String(i).padStart(12, "0")}`),
    );
    const final = await h.artifacts.getManifest<{ final: boolean; swd: number; resolution: number }>(
      "gan-checkpoint",
      ckpts[ckpts.length - 1].id,
    );
    expect(final.final).toBe(true);
    expect(final.resolution).toBe(16);
    expect(final.swd).toBeGreaterThan(0);
    const png = await h.artifacts.readFile("gan-checkpoint", final.id, "samples.png");
    expect(png.subarray(1, 4).toString()).toBe("PNG");

    const { ensemble } = await h.generator.getEnsemble({ ensembleId: res.ganId });
    expect(ensemble?.members).toHaveLength(1);
    expect(ensemble?.members[0].state).toBe(JobState.SUCCEEDED);
    expect(ensemble?.members[0].resolution).toBe(16);
    expect(ensemble?.members[0].kimg).toBeCloseTo(0.16, 6);
    ganId = res.ganId;
  }, 120_000);

  it("GetTrainingHistory: loss and SWD curves over the growth phases, checkpoints marked, thinned on request", async () => {
    const byGan = await h.generator.getTrainingHistory({ ganId });
    expect(byGan.family).toBe("pgan");
    expect(byGan.totalKimg).toBeCloseTo(0.16, 6);
    const cps = byGan.points.filter((p) => p.checkpoint);
    expect(cps.map((p) => p.kimg)).toEqual([0.064, 0.128, 0.16]);
    for (const p of cps) expect(p.swd).toBeGreaterThan(0);
    const steps = byGan.points.filter((p) => !p.checkpoint);
    expect(steps.length).toBeGreaterThan(3);
    for (const p of steps) expect(Number.isFinite(p.lossD) && Number.isFinite(p.lossG) && p.swd === 0).toBe(true);
    expect(steps.some((p) => p.lossGp !== 0)).toBe(true);
    expect(byGan.points.map((p) => p.kimg)).toEqual([...byGan.points.map((p) => p.kimg)].sort((a, b) => a - b));
    expect(new Set(byGan.points.map((p) => p.resolution))).toEqual(new Set([4, 8, 16]));
    expect(byGan.points.some((p) => p.phase.startsWith("fade-in") && p.alpha < 1)).toBe(true);

    const byMember = await h.generator.getTrainingHistory({ ensembleId: ganId, member: 0 });
    expect(byMember.points).toEqual(byGan.points);
    const thin = await h.generator.getTrainingHistory({ ganId, maxPoints: 5 });
    expect(thin.points.length).toBe(5);
    expect(thin.points.filter((p) => p.checkpoint)).toHaveLength(3);

    expect((await failure(h.generator.getTrainingHistory({ ganId: "gan-nope" }))).code).toBe(GrpcStatus.NOT_FOUND);
    expect((await failure(h.generator.getTrainingHistory({ ensembleId: ganId, member: 3 }))).code).toBe(
      GrpcStatus.NOT_FOUND,
    );
    const bad = await failure(h.generator.getTrainingHistory({ ganId, maxPoints: 1 }));
    expect(bad.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/max_points/);
  });

  it("samples reproducibly: uint8 with mask levels, float32 with the label scheme, provenance per sample", async () => {
    const req = { source: { ensembleId: ganId }, count: 10, seed: 3, batchSize: 4 };
    const a = await collect(h.generator.sample(req));
    expect(a.tensors.map((t) => t.shape)).toEqual([
      [4, 16, 16, 5],
      [4, 16, 16, 5],
      [2, 16, 16, 5],
    ]);
    expect(a.summary?.delivered).toBe(10);
    expect(a.provenance.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a.provenance[0]).toMatchObject({ ensembleId: ganId, member: 0, seed: 3 });
    expect(a.provenance[0].checkpointKimg).toBeCloseTo(0.16, 6);
    const bytes = Buffer.concat(a.tensors.map((t) => t.bytes));
    const masks = new Set<number>();
    for (let i = 4; i < bytes.length; i += 5) masks.add(bytes[i]);
    expect([...masks].every((v) => [0, 51, 102, 204].includes(v))).toBe(true);
    // Same seed, other batch size: the same samples.
    const b = await collect(h.generator.sample({ ...req, batchSize: 10 }));
    expect(Buffer.from(b.tensors[0].bytes).equals(bytes)).toBe(true);
    // Another seed: other samples.
    const c = await collect(h.generator.sample({ ...req, seed: 4 }));
    expect(Buffer.concat(c.tensors.map((t) => t.bytes)).equals(bytes)).toBe(false);
    // float32 with BraTS 2020 labels in the mask channel.
    const f = await collect(
      h.generator.sample({ ...req, dtype: DataType.FLOAT32, labelScheme: LabelScheme.BRATS2020, batchSize: 10 }),
    );
    const values = typedArrayOf(f.tensors[0]) as Float32Array;
    for (let p = 0; p < values.length / 5; p++) {
      expect([0, 1, 2, 4]).toContain(values[p * 5 + 4]);
      expect(values[p * 5 + 4]).toBe(
        [0, 51, 102, -1, 204].indexOf(bytes[p * 5 + 4]) === 4 ? 4 : [0, 51, 102].indexOf(bytes[p * 5 + 4]),
      );
    }
  }, 60_000);

  it("applies the outlier filter and reports the threshold and rejected count", async () => {
    const r = await collect(
      h.generator.sample({
        source: { ensembleId: ganId },
        count: 6,
        seed: 1,
        outlierFilter: { enabled: true, threshold: 1e9 },
      }),
    );
    expect(r.summary).toMatchObject({ delivered: 6, rejected: 0, threshold: 1e9 });
    expect(r.provenance.every((p) => p.outlierScore > 0)).toBe(true);
    // A threshold just under the 3rd-best score rejects the others, and the stream still delivers the count.
    const scores = r.provenance.map((p) => p.outlierScore).sort((x, y) => x - y);
    const strict = await collect(
      h.generator.sample({
        source: { ensembleId: ganId },
        count: 2,
        seed: 1,
        outlierFilter: { enabled: true, threshold: (scores[1] + scores[2]) / 2 },
      }),
    );
    expect(strict.summary?.delivered).toBe(2);
    expect(strict.summary?.rejected).toBeGreaterThan(0);
    expect(strict.provenance.every((p) => p.outlierScore <= (scores[1] + scores[2]) / 2)).toBe(true);
    // The default threshold, 500 scaled from 256x256 to 16x16 (31.25), is far too strict for a GAN trained on
    // 160 images: the stream ends with a status that says so instead of drawing forever.
    const d = await failure(
      collect(
        h.generator.sample({ source: { ensembleId: ganId }, count: 2, seed: 1, outlierFilter: { enabled: true } }),
      ),
    );
    expect(d.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(d.details).toMatch(/threshold 31\.3\).*raise outlier_filter\.threshold/);
  }, 60_000);
});

describe("TrainEnsemble", () => {
  let ensembleId = "";
  it("trains members as their own jobs, commits the ensemble, splits samples across members", async () => {
    const res = await h.generator.trainEnsemble({
      datasetId: "toy",
      members: 2,
      baseSeed: 100,
      concurrency: 2,
      family: GanFamily.PGAN,
      config: { ...TINY, totalKimg: 0.064 },
      name: "pair",
    });
    expect(res.memberJobIds).toHaveLength(2);
    const statuses = await h.watch(res.jobId);
    expect(statuses[statuses.length - 1].errorMessage).toBe("");
    expect(statuses[statuses.length - 1].state).toBe(JobState.SUCCEEDED);
    for (const id of res.memberJobIds)
      expect((await h.jobClient.getJob({ jobId: id })).job?.state).toBe(JobState.SUCCEEDED);
    const manifest = await h.artifacts.getManifest<{
      members: { index: number; seed: number; checkpointId: string }[];
    }>("ensemble", res.ensembleId);
    expect(manifest.members.map((m) => m.seed)).toEqual([100, 101]);
    expect(manifest.inputs.length).toBe(3);
    const { ensemble } = await h.generator.getEnsemble({ ensembleId: res.ensembleId });
    expect(ensemble?.members.map((m) => m.state)).toEqual([JobState.SUCCEEDED, JobState.SUCCEEDED]);
    expect(ensemble?.manifest?.key).toBe(`ensemble/${res.ensembleId}/manifest.json`);

    const s = await collect(h.generator.sample({ source: { ensembleId: res.ensembleId }, count: 5, seed: 9 }));
    expect(s.provenance.map((p) => p.member)).toEqual([0, 0, 0, 1, 1]);
    const one = await collect(
      h.generator.sample({ source: { ensembleId: res.ensembleId, members: [1] }, count: 2, seed: 9 }),
    );
    expect(one.provenance.map((p) => p.member)).toEqual([1, 1]);
    // Member 1's samples are the same whether drawn alone or within the ensemble.
    const all = Buffer.concat(s.tensors.map((t) => t.bytes));
    // 64 images end in the 8x8 stabilise phase: the ensemble samples at 8x8.
    expect(s.tensors.map((t) => t.shape)).toEqual([
      [3, 8, 8, 5],
      [2, 8, 8, 5],
    ]);
    const per = 8 * 8 * 5;
    expect(Buffer.from(one.tensors[0].bytes).equals(all.subarray(3 * per, 5 * per))).toBe(true);

    const list = await h.generator.listEnsembles({ datasetId: "toy" });
    expect(list.ensembles.map((e) => e.id)).toContain(res.ensembleId);
    expect(list.ensembles[0].id).toBe(res.ensembleId); // newest first
    ensembleId = res.ensembleId;
  }, 120_000);

  it("writes a synthetic dataset in the ingest manifest/shard format, with provenance", async () => {
    const res = await h.generator.createSyntheticDataset({
      source: { ensembleId },
      count: 20,
      seed: 5,
      name: "syn",
      labels: { purpose: "test" },
    });
    const statuses = await h.watch(res.jobId);
    const last = statuses[statuses.length - 1];
    expect(last.errorMessage).toBe("");
    expect(last.state).toBe(JobState.SUCCEEDED);
    expect(last.outputs.dataset_id).toBe(res.datasetId);
    const m = asDatasetManifest(await h.artifacts.getManifest("dataset", res.datasetId));
    expect(m.origin).toBe("synthetic");
    expect(m.sliceShape).toEqual([8, 8, 5]);
    expect(m.sliceCounts).toEqual({ train: 20, test: 0 });
    expect(m.labels).toEqual({ purpose: "test" });
    expect((m.provenance as { members: unknown[] }).members).toHaveLength(2);
    let n = 0;
    const subjects = new Set<string>();
    for await (const b of readDatasetSlices(m, (p) => h.artifacts.readFile("dataset", res.datasetId, p), {
      split: "train",
    })) {
      n += b.count;
      for (const s of b.subject) subjects.add(s);
    }
    expect(n).toBe(20);
    expect([...subjects].sort()).toEqual([`syn-${ensembleId}-m0`, `syn-${ensembleId}-m1`]);
    // The synthetic dataset is itself trainable (same format as real ones).
    const again = await h.generator.trainGan({
      datasetId: res.datasetId,
      seed: 1,
      config: { ...TINY, totalKimg: 0.008 },
    });
    const s = await h.watch(again.jobId);
    expect(s[s.length - 1].state).toBe(JobState.SUCCEEDED);
  }, 120_000);
});

describe("cancellation and bad input", () => {
  it("CancelJob stops a training promptly", async () => {
    const res = await h.generator.trainGan({
      datasetId: "toy",
      seed: 2,
      config: { ...TINY, totalKimg: 100, checkpointEveryKimg: 50 },
    });
    let cancelled = false;
    const statuses = [];
    for await (const r of h.jobClient.watchJob({ jobId: res.jobId, minIntervalMs: 1 })) {
      statuses.push(r.job!);
      if (!cancelled && (r.job?.progress?.metrics.kimg ?? 0) > 0) {
        cancelled = true;
        await h.jobClient.cancelJob({ jobId: res.jobId, reason: "test" });
      }
    }
    const last = statuses[statuses.length - 1];
    expect(last.state).toBe(JobState.CANCELLED);
    expect(last.progress!.metrics.kimg).toBeLessThan(1);
  }, 60_000);

  it("answers NOT_FOUND / INVALID_ARGUMENT / FAILED_PRECONDITION and stays up", async () => {
    const base = { seed: 1, config: { ...TINY } };
    const cases: [() => Promise<unknown>, number, RegExp][] = [
      [() => h.generator.trainGan({ ...base, datasetId: "nope" }), GrpcStatus.NOT_FOUND, /nope/],
      [
        () => h.generator.trainGan({ ...base, datasetId: "toy", config: { ...TINY, resolution: 12 } }),
        GrpcStatus.INVALID_ARGUMENT,
        /power of two/,
      ],
      [
        () => h.generator.trainGan({ ...base, datasetId: "toy", config: { ...TINY, resolution: 512 } }),
        GrpcStatus.INVALID_ARGUMENT,
        /256/,
      ],
      [() => h.generator.trainGan({ ...base, datasetId: "empty" }), GrpcStatus.FAILED_PRECONDITION, /no train slices/],
      [
        () => h.generator.trainEnsemble({ ...base, datasetId: "toy", members: 0 }),
        GrpcStatus.INVALID_ARGUMENT,
        /members 0/,
      ],
      [() => h.generator.getEnsemble({ ensembleId: "ens-unknown" }), GrpcStatus.NOT_FOUND, /ens-unknown/],
      [
        () => collect(h.generator.sample({ source: { ensembleId: "ens-unknown" }, count: 1 })),
        GrpcStatus.NOT_FOUND,
        /ens-unknown/,
      ],
      [
        () => collect(h.generator.sample({ source: { ensembleId: ganId }, count: 0 })),
        GrpcStatus.INVALID_ARGUMENT,
        /count 0/,
      ],
      [
        () => collect(h.generator.sample({ source: { ensembleId: ganId, members: [3] }, count: 1 })),
        GrpcStatus.INVALID_ARGUMENT,
        /member/,
      ],
      [
        () => h.generator.createSyntheticDataset({ source: { ensembleId: "ens-unknown" }, count: 5 }),
        GrpcStatus.NOT_FOUND,
        /ens-unknown/,
      ],
      [() => h.jobClient.getJob({ jobId: "job-unknown" }), GrpcStatus.NOT_FOUND, /job-unknown/],
    ];
    for (const [p, code, msg] of cases) {
      const f = await failure(p());
      expect(f.code, f.details).toBe(code);
      expect(f.details).toMatch(msg);
    }
    expect((await h.generator.getEnsemble({ ensembleId: ganId })).ensemble?.id).toBe(ganId);
  }, 60_000);
});
