// MemorizationReport flags a real training slice injected into a synthetic set; QualityReport computes SWD per
// channel and the feature distance with sample grids; bad datasets answer clear statuses.
import { JobState, Modality } from "@synthmri/contracts";
import { initBackend, tf } from "@synthmri/ml";
import { GrpcStatus } from "@synthmri/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, realDataset, startHarness, syntheticDataset } from "./fakes.js";
import { rpcFailure as failure } from "@synthmri/rpc/testing";

let h: Harness;
const real = realDataset("real-1");
// The 3rd training slice of the real set, copied into the synthetic set as its last sample (index 5).
const trainSlices = real.slices.filter((s) => s.subject === "s-train-a");
const injected = trainSlices[2].data;
let blocked!: () => void;
const streamBlocked = new Promise<void>((resolve) => {
  blocked = resolve;
});
const slow = { ...syntheticDataset("syn-slow", 1), block: { blocked: () => blocked() } };

beforeAll(async () => {
  await initBackend({ preferred: "cpu" });
  h = await startHarness([real, syntheticDataset("syn-1", 5, [injected]), syntheticDataset("syn-empty", 0), slow]);
});
afterAll(async () => {
  await h?.close();
});

interface MemJson {
  n_synthetic: number;
  n_real: number;
  flagged: { index: number; maxNcc: number }[];
  per_channel: { channel: string }[];
}

describe("MemorizationReport", () => {
  it("flags exactly the injected real training slice, with NCC 1", async () => {
    const res = await h.evaluator.memorizationReport({ syntheticDatasetId: "syn-1", realDatasetId: "real-1" });
    const job = await h.waitJob(res.jobId);
    expect(job.errorMessage).toBe("");
    expect(job.state).toBe(JobState.SUCCEEDED);
    const json = await h.artifacts.readJson<MemJson>("report", res.reportId, "report.json");
    expect(json.n_synthetic).toBe(6);
    expect(json.n_real).toBe(4); // only the training subject's slices
    expect(json.flagged.map((f) => f.index)).toEqual([5]);
    expect(json.flagged[0].maxNcc).toBeCloseTo(1, 9);
    const samples = (await h.artifacts.readFile("report", res.reportId, "samples.csv")).toString().trim().split("\n");
    const row = samples.find((l) => l.startsWith("5,t1,"))!.split(",");
    expect(Number(row[2])).toBeCloseTo(1, 9); // max NCC
    expect(row[3]).toBe("2"); // the nearest real slice is the one copied
    expect(Number(row[4])).toBe(0); // L2 distance 0
    const { report } = await h.evaluator.getReport({ reportId: res.reportId });
    expect(report?.summary.memorized_count).toBe(1);
    expect(report?.files.map((f) => f.key.split("/").pop())).toContain("flagged_pairs.png");
  });

  it("checks only the requested channels and honours the threshold", async () => {
    const res = await h.evaluator.memorizationReport({
      syntheticDatasetId: "syn-1",
      realDatasetId: "real-1",
      channels: [Modality.T1, Modality.FLAIR],
      nccThreshold: 0.999,
      maxSamples: 5,
    });
    const job = await h.waitJob(res.jobId);
    expect(job.state).toBe(JobState.SUCCEEDED);
    const json = await h.artifacts.readJson<MemJson>("report", res.reportId, "report.json");
    expect(json.per_channel.map((c) => c.channel)).toEqual(["t1", "flair"]);
    expect(json.n_synthetic).toBe(5); // the injected copy is the 6th: left out
    expect(json.flagged).toEqual([]);
  });

  it("calibrates the threshold on real held-out vs training slices and reports both distributions", async () => {
    const res = await h.evaluator.memorizationReport({
      syntheticDatasetId: "syn-1",
      realDatasetId: "real-1",
      calibratePercentile: 99,
    });
    const job = await h.waitJob(res.jobId);
    expect(job.errorMessage).toBe("");
    const json = await h.artifacts.readJson<
      MemJson & {
        ncc_threshold: number;
        synthetic_max_ncc: { n: number };
        calibration: {
          percentile: number;
          ncc_threshold: number;
          held_out_max_ncc: { n: number; quantiles: { q: number; value: number }[] };
        };
      }
    >("report", res.reportId, "report.json");
    // The 8 test slices are the reference; the threshold is their 99th percentile and is the one applied.
    expect(json.calibration.held_out_max_ncc.n).toBe(8);
    const p99 = json.calibration.held_out_max_ncc.quantiles.find((q) => q.q === 0.99)?.value ?? Number.NaN;
    expect(json.calibration.ncc_threshold).toBeCloseTo(Math.min(1, p99), 12);
    expect(json.ncc_threshold).toBe(json.calibration.ncc_threshold);
    expect(json.synthetic_max_ncc.n).toBe(6);
    // The exact copy (NCC 1) is still flagged.
    expect(json.flagged.map((f) => f.index)).toContain(5);
    const { report } = await h.evaluator.getReport({ reportId: res.reportId });
    expect(report?.summary.n_held_out).toBe(8);
    expect(report?.markdown).toMatch(/\| real held-out \(reference\) \| 8 \|/);
    expect(
      (
        await failure(
          h.evaluator.memorizationReport({
            syntheticDatasetId: "syn-1",
            realDatasetId: "real-1",
            nccThreshold: 0.9,
            calibratePercentile: 99,
          }),
        )
      ).code,
    ).toBe(GrpcStatus.INVALID_ARGUMENT);
  });

  it("answers NOT_FOUND for an unknown dataset, INVALID_ARGUMENT for a bad threshold, and fails an empty set clearly", async () => {
    expect(
      (await failure(h.evaluator.memorizationReport({ syntheticDatasetId: "nope", realDatasetId: "real-1" }))).code,
    ).toBe(GrpcStatus.NOT_FOUND);
    expect(
      (
        await failure(
          h.evaluator.memorizationReport({ syntheticDatasetId: "syn-1", realDatasetId: "real-1", nccThreshold: 2 }),
        )
      ).code,
    ).toBe(GrpcStatus.INVALID_ARGUMENT);
    const res = await h.evaluator.memorizationReport({ syntheticDatasetId: "syn-empty", realDatasetId: "real-1" });
    const job = await h.waitJob(res.jobId);
    expect(job.state).toBe(JobState.FAILED);
    expect(job.errorCode).toBe("INVALID_ARGUMENT");
    expect(job.errorMessage).toMatch(/has no all slices|no .* slices/);
  });
});

describe("CancelJob", () => {
  it("cancels a running report job: the dataset read is cancelled and the job ends CANCELLED without a report", async () => {
    const res = await h.evaluator.memorizationReport({ syntheticDatasetId: "syn-slow", realDatasetId: "real-1" });
    await streamBlocked;
    const after = await h.jobs.cancelJob({ jobId: res.jobId, reason: "test" });
    expect([JobState.RUNNING, JobState.CANCELLED]).toContain(after.job?.state);
    const job = await h.waitJob(res.jobId);
    expect(job.state).toBe(JobState.CANCELLED);
    expect((await failure(h.evaluator.getReport({ reportId: res.reportId }))).code).toBe(GrpcStatus.NOT_FOUND);
  });
});

describe("QualityReport", () => {
  it("computes SWD per channel and the feature distance, with sample grids of both sets, without leaking tensors", async () => {
    const before = tf.memory().numTensors;
    const res = await h.evaluator.qualityReport({ syntheticDatasetId: "syn-1", realDatasetId: "real-1", seed: 3 });
    const job = await h.waitJob(res.jobId);
    expect(job.errorMessage).toBe("");
    expect(job.state).toBe(JobState.SUCCEEDED);
    const { report } = await h.evaluator.getReport({ reportId: res.reportId });
    expect(report?.kind).toBe("quality");
    for (const k of ["swd_all", "swd_t1", "swd_t1ce", "swd_t2", "swd_flair", "swd_mask", "feature_distance"])
      expect(report?.summary[k]).toBeGreaterThan(0);
    expect(report?.summary.n_real).toBe(4);
    expect(report?.markdown).toMatch(/NOT Inception FID/);
    for (const f of ["samples_synthetic.png", "samples_real.png"]) {
      const png = await h.artifacts.readFile("report", res.reportId, f);
      expect(png.subarray(1, 4).toString()).toBe("PNG");
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
