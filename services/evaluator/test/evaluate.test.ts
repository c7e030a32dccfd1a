// Evaluate over real gRPC: datasets in the embedded store, a fake segmenter answering SegmentDataset; hand-checkable Dice, stored JSON + CSV,
// GetEvaluation, and clear statuses for bad input while the server stays up.
import { EmptyCasePolicy, JobState, Split } from "@synthmri/contracts";
import { GrpcStatus, type RpcError } from "@synthmri/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, realDataset, startHarness, syntheticDataset } from "./fakes.js";

let h: Harness;

beforeAll(async () => {
  const badMask = realDataset("real-badmask");
  badMask.slices[3].data[4] = 50; // mask channel of pixel 0: not a seed-000 mask value
  h = await startHarness([realDataset("real-1"), syntheticDataset("syn-1", 4), badMask]);
});
afterAll(async () => {
  await h?.close();
});

async function evaluate(modelId: string, policy = EmptyCasePolicy.UNSPECIFIED) {
  const res = await h.evaluator.evaluate({
    modelId,
    datasetId: "real-1",
    split: Split.TEST,
    emptyCasePolicy: policy,
    condition: modelId,
  });
  const job = await h.waitJob(res.jobId);
  return { res, job };
}

async function code(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as RpcError).code, details: (e as RpcError).details };
  }
  throw new Error("expected the call to fail");
}

describe("Evaluate", () => {
  it("scores a perfect segmenter at Dice 1 per subject and class", async () => {
    const { res, job } = await evaluate("truth");
    expect(job.state).toBe(JobState.SUCCEEDED);
    expect(job.outputs.evaluation_id).toBe(res.evaluationId);
    const { evaluation } = await h.evaluator.getEvaluation({ evaluationId: res.evaluationId });
    expect(evaluation?.subjects).toBe(2);
    for (const cls of ["NCR", "ED", "ET", "WT", "TC"]) {
      expect(evaluation?.dice[cls].mean).toBe(1);
      expect(evaluation?.hd95[cls].mean).toBe(0);
    }
    expect(evaluation?.emptyCasePolicy).toBe(EmptyCasePolicy.ONE);
    const names = evaluation?.artifacts.map((a) => a.key.split("/").pop()).sort();
    expect(names).toEqual(["metrics.csv", "metrics.json", "summary.json"]);
    const csv = (await h.artifacts.readFile("evaluation", res.evaluationId, "metrics.csv")).toString();
    expect(csv.split("\n")[0]).toBe("subject_id,class,dice,hd95_mm,sensitivity,specificity,tp,fp,fn,empty_case");
    expect(csv.trim().split("\n")).toHaveLength(1 + 2 * 5);
  });

  it("scores a one-pixel shift at the hand-computed Dice 2*56/128 = 0.875 (8x8 square, 7 columns overlap)", async () => {
    const { res, job } = await evaluate("shift", EmptyCasePolicy.EXCLUDE);
    expect(job.state).toBe(JobState.SUCCEEDED);
    const { evaluation } = await h.evaluator.getEvaluation({ evaluationId: res.evaluationId });
    expect(evaluation?.dice.ED.mean).toBeCloseTo(0.875, 12);
    expect(evaluation?.dice.WT.mean).toBeCloseTo(0.875, 12);
    // No NCR/ET anywhere: excluded under the nnU-Net policy (n = 0), recorded in the summary.
    expect(evaluation?.dice.NCR.n).toBe(0);
    expect(evaluation?.emptyCasePolicy).toBe(EmptyCasePolicy.EXCLUDE);
    // Surfaces one voxel apart in x: HD95 is 1 mm for subject a (x spacing 1 mm) and 1.5 mm for b (1.5 mm).
    expect(evaluation?.hd95.ED.mean).toBeCloseTo(1.25, 12);
    const metrics = await h.artifacts.readJson<{
      subjects: { subjectId: string; spacing: number[]; shape: number[] }[];
    }>("evaluation", res.evaluationId, "metrics.json");
    expect(metrics.subjects.map((s) => s.subjectId).sort()).toEqual(["s-test-a", "s-test-b"]);
    const b = metrics.subjects.find((x) => x.subjectId === "s-test-b");
    expect(b?.spacing).toEqual([2, 1, 1.5]);
    expect(metrics.subjects[0].shape).toEqual([4, 32, 32]);
  });

  it("fails the job with INVALID_ARGUMENT for labels outside the scheme and for a prediction of another shape", async () => {
    const bad = await evaluate("bad-label");
    expect(bad.job.state).toBe(JobState.FAILED);
    expect(bad.job.errorCode).toBe("INVALID_ARGUMENT");
    expect(bad.job.errorMessage).toMatch(/label 7, outside the brats2020 scheme/);
    const shape = await evaluate("bad-shape");
    expect(shape.job.state).toBe(JobState.FAILED);
    expect(shape.job.errorCode).toBe("INVALID_ARGUMENT");
    expect(shape.job.errorMessage).toMatch(/prediction shape \[8, 31, 32\] differs from the truth \[8, 32, 32\]/);
    // Nothing half-written stays: the failed evaluation does not exist.
    expect((await code(h.evaluator.getEvaluation({ evaluationId: bad.res.evaluationId }))).code).toBe(
      GrpcStatus.NOT_FOUND,
    );
    expect(await h.artifacts.objects.exists(`evaluation/${bad.res.evaluationId}/metrics.json`)).toBe(false);
  });

  it("scores the intensity-only baseline (fitted on the train split) like a model, under its own model id", async () => {
    // "nope" is no model: with intensity_baseline the id is not looked up.
    const res = await h.evaluator.evaluate({
      modelId: "nope",
      intensityBaseline: true,
      datasetId: "real-1",
      split: Split.TEST,
      condition: "baseline-intensity-only",
    });
    const job = await h.waitJob(res.jobId);
    expect(job.errorMessage).toBe("");
    expect(job.state).toBe(JobState.SUCCEEDED);
    const { evaluation } = await h.evaluator.getEvaluation({ evaluationId: res.evaluationId });
    expect(evaluation?.modelId).toBe("intensity-baseline");
    expect(evaluation?.subjects).toBe(2);
    for (const cls of ["NCR", "ED", "ET", "WT", "TC"]) {
      const d = evaluation?.dice[cls]?.mean ?? Number.NaN;
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(1);
    }
  });

  it("fails the job with INVALID_ARGUMENT when the truth mask holds a value outside the encoding", async () => {
    const res = await h.evaluator.evaluate({ modelId: "truth", datasetId: "real-badmask" });
    const job = await h.waitJob(res.jobId);
    expect(job.state).toBe(JobState.FAILED);
    expect(job.errorCode).toBe("INVALID_ARGUMENT");
    expect(job.errorMessage).toMatch(/mask value 50 is not one of 0\/51\/102\/204/);
  });

  it("answers NOT_FOUND / INVALID_ARGUMENT at once for unknown models, datasets and empty splits, and stays up", async () => {
    const unknownModel = await code(h.evaluator.evaluate({ modelId: "nope", datasetId: "real-1" }));
    expect(unknownModel.code).toBe(GrpcStatus.NOT_FOUND);
    expect(unknownModel.details).toMatch(/segmenter: model nope not found/);
    const unknownDataset = await code(h.evaluator.evaluate({ modelId: "truth", datasetId: "nope" }));
    expect(unknownDataset.code).toBe(GrpcStatus.NOT_FOUND);
    const noTest = await code(h.evaluator.evaluate({ modelId: "truth", datasetId: "syn-1" }));
    expect(noTest.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(noTest.details).toMatch(/has no test subjects/);
    const hd = await code(h.evaluator.evaluate({ modelId: "truth", datasetId: "real-1", hdPercentile: 90 }));
    expect(hd.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect((await code(h.evaluator.evaluate({ modelId: "", datasetId: "real-1" }))).code).toBe(
      GrpcStatus.INVALID_ARGUMENT,
    );
    expect((await code(h.evaluator.getEvaluation({ evaluationId: "20990101-000000-deadbeef" }))).code).toBe(
      GrpcStatus.NOT_FOUND,
    );
    expect((await code(h.jobs.getJob({ jobId: "job-nope" }))).code).toBe(GrpcStatus.NOT_FOUND);
    // Still serving after all of that.
    const { job } = await evaluate("truth");
    expect(job.state).toBe(JobState.SUCCEEDED);
    const list = await h.jobs.listJobs({ kind: "evaluate" });
    expect(list.jobs.length).toBeGreaterThanOrEqual(5);
  });
});
