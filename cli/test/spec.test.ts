import { describe, expect, it } from "vitest";
import { unetConfig } from "../src/experiment/stages/segment.js";
import { conditionNames, loadManifestSpecSafe, loadPreset, validateSpec } from "./spec-helpers.js";

describe("experiment spec", () => {
  it("fills defaults and loads the demo preset", () => {
    const s = validateSpec({ name: "x" });
    expect(s.seed).toBe(0);
    expect(s.gan.family).toBe("pgan");
    expect(s.data.source).toBe("phantom");
    const demo = loadPreset("demo");
    expect(demo.name).toBe("demo");
    expect(conditionNames(demo)).toEqual([
      "real",
      "synthetic-1",
      "synthetic-3",
      "real+synthetic-3",
      "baseline-intensity-only",
      "control-mode-dropping-gan",
      "control-half-a-gan",
      "control-half-b-gan",
    ]);
    // Same resolution everywhere: the GANs make what the U-Nets train and are tested on.
    expect(demo.gan.resolution).toBe(demo.data.sliceSize);
    expect(demo.segmenter.patchSize).toBe(0);
  });

  it("names every bad field, unknown fields included", () => {
    let msg = "";
    try {
      validateSpec({ name: "x", gan: { members: 0, membrs: 2 }, data: { sliceSize: 33 } }, "my.yaml");
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain("my.yaml is not a valid experiment spec");
    expect(msg).toContain("gan.members: must be >= 1");
    expect(msg).toContain("gan.membrs: is not a known field");
    expect(msg).toContain("data.sliceSize: must be one of 16, 32, 64, 128, 256");
  });

  it("checks fields against each other", () => {
    expect(() => validateSpec({ name: "x", gan: { members: 2 }, synthetic: { ensembleSizes: [1, 5], mixWithReal: [] } })).toThrow(
      /synthetic.ensembleSizes: 5 is more than gan.members \(2\)/,
    );
    expect(() => validateSpec({ name: "x", synthetic: { ensembleSizes: [1, 3], mixWithReal: [2] } })).toThrow(
      /synthetic.mixWithReal: 2 is not one of/,
    );
    expect(() => validateSpec({ name: "x", data: { source: "directory" } })).toThrow(/data.path: is required/);
    expect(() => validateSpec({ name: "x", data: { phantomSubjects: 6, testSubjects: 6 } })).toThrow(/leaves no training/);
    expect(() => validateSpec({ name: "x", data: { sliceSize: 32 }, segmenter: { patchSize: 64 } })).toThrow(
      /segmenter.patchSize: 64 is above data.sliceSize 32/,
    );
  });

  it("the paper preset has seed-000 sizes and needs --data", () => {
    expect(() => loadPreset("paper")).toThrow(/data.path: is required/);
    const p = loadPreset("paper", { dataPath: "/tmp/brats" });
    expect(p.data).toMatchObject({ source: "directory", path: "/tmp/brats", sliceSize: 256, testSubjects: 56 });
    expect(p.gan.members).toBe(20);
    expect(p.synthetic.images).toBe(100_000);
    expect(p.segmenter.runs).toBe(10);
    expect(p.segmenter.trainingSamples).toBe(3e7);
    expect(p.gan).toMatchObject({ concurrency: 20, emaDecay: 0.999 });
    // "3e7 samples or 3 days, whichever first": both limits reach the segmenter's UNetConfig.
    expect(unetConfig(p)).toMatchObject({ maxTrainingSamples: 3e7, maxTrainingSeconds: 259_200 });
    expect(p.segmenter.validation).toBe("per-source");
  });

  it("the U-Net length fields stay out of the config (and the stage keys) when unset", () => {
    const demo = loadPreset("demo");
    expect(unetConfig(demo).maxTrainingSamples).toBe(demo.segmenter.trainingSamples);
    const plain = unetConfig({ ...demo, segmenter: { ...demo.segmenter, trainingSamples: 0 } });
    expect("maxTrainingSamples" in plain || "maxTrainingSeconds" in plain).toBe(false);
    expect(() => validateSpec({ ...demo, segmenter: { ...demo.segmenter, validation: "same" } })).toThrow(
      /segmenter.validation/,
    );
  });

  it("--dataset ID runs a preset on an ingested cohort of the deployment (the runbook's experiment step)", () => {
    const p = loadPreset("paper", { datasetId: "ds-ingested" });
    expect(p.data).toMatchObject({ source: "dataset", datasetId: "ds-ingested", sliceSize: 256 });
    expect(p.data.path).toBeUndefined();
  });

  it("refuses unknown presets and non-manifests", () => {
    expect(() => loadPreset("tiny")).toThrow(/unknown preset "tiny"; presets: demo, paper/);
    expect(loadManifestSpecSafe('{"schema":"nope"}')).toMatch(/is not an experiment manifest/);
  });
});

describe("gan.maskEncoding (issue 16)", () => {
  it("defaults to level and stays out of the GAN config (and the stage keys) unless onehot", async () => {
    const { ganConfig } = await import("../src/experiment/stages/gan.js");
    const { MaskEncoding } = await import("@synthmri/contracts");
    const level = validateSpec({ name: "x" });
    expect(level.gan.maskEncoding).toBe("level");
    expect("maskEncoding" in ganConfig(level)).toBe(false);
    const onehot = validateSpec({ name: "x", gan: { maskEncoding: "onehot" } });
    expect(ganConfig(onehot).maskEncoding).toBe(MaskEncoding.ONEHOT);
    const regions = validateSpec({ name: "x", gan: { maskEncoding: "regions" } });
    expect(ganConfig(regions).maskEncoding).toBe(MaskEncoding.REGIONS);
    expect(() => validateSpec({ name: "x", gan: { maskEncoding: "ordinal" } })).toThrow(/maskEncoding/);
  });
});
