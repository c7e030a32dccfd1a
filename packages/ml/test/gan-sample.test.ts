// Sampling: mask quantization, ensemble split and provenance, reproducibility, and the seed-001 outlier filter.
import { beforeAll, describe, expect, it } from "vitest";
import { defaultGanConfig } from "../src/gan/config.js";
import { createGan } from "../src/gan/create.js";
import { defaultOutlierThreshold, filterOutliers, outlierReference } from "../src/gan/outlier.js";
import { MASK_LEVELS, quantizeMask } from "../src/gan/mask-encoding.js";
import { sample, sampleEnsemble, splitCount } from "../src/gan/sample.js";
import { tf } from "../src/gan/tf.js";
import { Rng } from "../src/random/index.js";
import { blobSlices } from "./gan-fixtures.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const tiny = () => defaultGanConfig({ family: "pgan", resolution: 8, latentSize: 8, fmapBase: 16, fmapMax: 8 });

describe("mask quantization", () => {
  it("snaps to the nearest of 0/51/102/204 (on [-1,1]) and maps to labels 0 bg, 1 NCR, 2 ED, 3 ET", () => {
    const lv = (v: number) => v / 127.5 - 1;
    const { levels, labels } = quantizeMask(
      new Float32Array([-1.3, lv(20), lv(30), lv(76), lv(77), lv(150), lv(160), 1.0]),
    );
    expect([...labels]).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect([...levels]).toEqual([0, 0, 1, 1, 2, 2, 3, 3].map((k) => Math.fround(MASK_LEVELS[k])));
  });
});

describe("sampling", () => {
  it("splits an ensemble request equally, with provenance, reproducibly and independent of batch size", () => {
    expect(splitCount(100_000, 5)).toEqual([20_000, 20_000, 20_000, 20_000, 20_000]);
    expect(splitCount(10, 3)).toEqual([4, 3, 3]);
    const before = tf.memory().numTensors;
    const members = [0, 1, 2].map((m) => ({ model: createGan(tiny(), 100 + m), member: m, kimg: 12 + m }));
    const a = sampleEnsemble(members, 10, 42, { ensembleId: "ens-1", batchSize: 3 });
    const b = sampleEnsemble(members, 10, 42, { ensembleId: "ens-1", batchSize: 7 });
    expect(a.count).toBe(10);
    expect(a.size).toBe(4); // untrained PGANs sit at level 0
    expect(a.provenance.map((p) => p.member)).toEqual([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(a.provenance[4]).toMatchObject({ ensembleId: "ens-1", member: 1, kimg: 13, index: 0 });
    expect(Buffer.from(a.images.buffer).equals(Buffer.from(b.images.buffer))).toBe(true);
    // Mask channel holds only label levels, and labels agree with it; MR channels are clipped to [-1,1].
    const levelSet = new Set(MASK_LEVELS.map((v) => Math.fround(v)));
    for (let p = 0; p < a.labels.length; p++) {
      expect(levelSet.has(a.images[p * 5 + 4])).toBe(true);
      expect(a.images[p * 5 + 4]).toBe(Math.fround(MASK_LEVELS[a.labels[p]]));
      for (let c = 0; c < 4; c++) expect(Math.abs(a.images[p * 5 + c])).toBeLessThanOrEqual(1);
    }
    // A single sample regenerates from its provenance (seed + index).
    const p7 = a.provenance[7];
    const one = sample(members[2].model, 1, p7.seed);
    expect(Buffer.from(one.images.buffer).equals(Buffer.from(a.images.slice(7 * 80, 8 * 80).buffer))).toBe(true);
    for (const m of members) m.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects counts out of range", () => {
    expect(() => splitCount(-1, 2)).toThrow(/sample count/);
    expect(() => splitCount(10, 0)).toThrow(/at least one member/);
  });
});

describe("outlier filter (seed 001)", () => {
  it("scales the seed's threshold of 500 for 256x256 by sqrt(pixel ratio)", () => {
    expect(defaultOutlierThreshold(256)).toBe(500);
    expect(defaultOutlierThreshold(32)).toBeCloseTo(62.5, 9);
  });

  it("keeps real-looking masks and rejects corrupted ones, reporting the count", () => {
    const size = 32;
    const { data } = blobSlices(256, size, 8);
    const ref = outlierReference(data, 256, size, 5);
    // Candidates: 6 held-out real-like slices plus 2 whose masks are scattered noise over the whole image.
    const { data: cand } = blobSlices(8, size, 9);
    const rng = new Rng(5);
    for (const i of [2, 5])
      for (let p = 0; p < size * size; p++) cand[(i * size * size + p) * 5 + 4] = MASK_LEVELS[rng.int(4)];
    const batch = {
      count: 8,
      size,
      channels: 5,
      images: cand,
      labels: quantizeMask(cand.filter((_, k) => k % 5 === 4)).labels,
      provenance: Array.from({ length: 8 }, (_, i) => ({ member: 0, kimg: 1, seed: 1, index: i })),
    };
    const r = filterOutliers(batch, ref);
    expect(r.rejected).toBe(2);
    expect(r.kept.provenance.map((p) => p.index)).toEqual([0, 1, 3, 4, 6, 7]);
    expect(r.kept.images.length).toBe(6 * size * size * 5);
    expect(r.norms[2]).toBeGreaterThan(r.threshold);
    expect(Math.max(...[0, 1, 3, 4, 6, 7].map((i) => r.norms[i]))).toBeLessThan(r.threshold);
  });
});
