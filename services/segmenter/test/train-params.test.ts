// TrainSegmenter params (issue 16): the validation switch (per source, or the same real held-out subjects for
// every condition) and the run length in samples and seconds, checked before a job starts.
import { describe, expect, it } from "vitest";
import { resolveTrainParams, type TrainRequest } from "../src/domain/train-params.js";
import type { DatasetReader } from "../src/domain/ports.js";

const origins: Record<string, "real" | "synthetic"> = { real: "real", syn: "synthetic" };
const datasets = {
  manifest: async (id: string) => ({ origin: origins[id], sliceShape: [32, 32, 5] }),
} as unknown as DatasetReader;

function request(over: Partial<TrainRequest> = {}, config: Partial<TrainRequest["config"]> = {}): TrainRequest {
  return {
    name: "c",
    sources: [{ datasetId: "syn", split: "train", maxSlices: 0 }],
    mixture: "equal",
    validationFraction: 0.2,
    runs: 1,
    baseSeed: 0,
    config: {
      inputSize: 0,
      depth: 3,
      baseFilters: 8,
      maxFilters: 32,
      deepSupervision: 2,
      epochs: 8,
      iterationsPerEpoch: 35,
      batchSize: 8,
      learningRate: 0,
      polyExponent: 0,
      momentum: 0.9,
      weightDecay: 0,
      ...config,
    },
    augmentation: { enabled: false },
    labels: {},
    ...over,
  };
}

const real = { datasetId: "real", split: "train" as const, maxSlices: 0 };

describe("TrainSegmenter params", () => {
  it("per source by default: nothing recorded, so params persisted before the switch read the same", async () => {
    const p = await resolveTrainParams(datasets, request(), "t");
    expect(p.validation).toBeUndefined();
    expect(p.train.maxSamples).toBeUndefined();
    expect(p.train.maxSeconds).toBeUndefined();
  });

  it("real-subjects: a synthetic-only condition validates on a real dataset's held-out subjects", async () => {
    const p = await resolveTrainParams(
      datasets,
      request({ validation: "real-subjects", validationSources: [real] }),
      "t",
    );
    expect(p.validation).toBe("real-subjects");
    expect(p.validationSources).toEqual([real]);
    await expect(resolveTrainParams(datasets, request({ validation: "real-subjects" }), "t")).rejects.toThrow(
      /needs validation_sources/,
    );
    await expect(
      resolveTrainParams(
        datasets,
        request({ validation: "real-subjects", validationSources: [{ ...real, datasetId: "syn" }] }),
        "t",
      ),
    ).rejects.toThrow(/validation source syn is synthetic/);
    await expect(resolveTrainParams(datasets, request({ validationSources: [real] }), "t")).rejects.toThrow(
      /VALIDATION_SCHEME_REAL_SUBJECTS/,
    );
  });

  it("run length: samples cap the iterations, seconds become the training time limit", async () => {
    const p = await resolveTrainParams(
      datasets,
      request({}, { maxTrainingSamples: 2240, maxTrainingSeconds: 259_200 }),
      "t",
    );
    expect(p.train.maxSamples).toBe(2240);
    expect(p.train.maxSeconds).toBe(259_200);
    await expect(resolveTrainParams(datasets, request({}, { maxTrainingSamples: 1.5 }), "t")).rejects.toThrow(
      /max_training_samples/,
    );
    await expect(resolveTrainParams(datasets, request({}, { maxTrainingSeconds: -1 }), "t")).rejects.toThrow(
      /max_training_seconds/,
    );
  });
});
