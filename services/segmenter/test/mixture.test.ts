// Mixture sampling proportions of the training set arrangement (domain level, no server): "equal" draws
// each source equally often whatever its size (seed 000's real + synthetic), "concat" in proportion to size;
// validation holds out 20 % of each source's subjects.
import { MixedSampler, Rng } from "@synthmri/ml";
import { describe, expect, it } from "vitest";
import { maskLut } from "@synthmri/core";
import { arrangeTrainingSet, type LoadedSource, Uint8SliceSource } from "../src/domain/training-data.js";
import type { Mixture } from "../src/domain/types.js";

function source(name: string, subjects: number, slicesPerSubject: number): LoadedSource {
  const size = 4;
  const n = subjects * slicesPerSubject;
  const data = new Uint8Array(n * size * size * 5);
  // Tag every slice with its source in the T1 channel so that draws can be attributed.
  for (let i = 0; i < n; i++) data.fill(name === "real" ? 10 : 20, i * size * size * 5, i * size * size * 5 + 1);
  const ids = Array.from({ length: n }, (_, i) => `${name}-${Math.floor(i / slicesPerSubject)}`);
  return {
    spec: { datasetId: name, split: "train", maxSlices: 0 },
    manifest: {} as LoadedSource["manifest"],
    source: new Uint8SliceSource(data, size, ids, maskLut(), name),
  };
}

async function draws(mixture: Mixture, n: number): Promise<{ real: number; synthetic: number }> {
  const set = arrangeTrainingSet([source("real", 30, 10), source("synthetic", 10, 10)], mixture, 0.2, 0);
  const pools = set.data.train;
  const sampler = new MixedSampler(pools.map((p) => p.length));
  const rng = new Rng(0);
  const count = { real: 0, synthetic: 0 };
  for (let i = 0; i < n; i++) {
    const { pool, index } = sampler.next(rng);
    const s = await pools[pool].get(index);
    if (s.image[0] === 10) count.real++;
    else count.synthetic++;
  }
  return count;
}

describe("training set mixtures", () => {
  it("equal: real and synthetic drawn equally often although real has 3x the slices", async () => {
    const c = await draws("equal", 4000);
    expect(Math.abs(c.real - c.synthetic)).toBeLessThanOrEqual(1);
  });

  it("concat: drawn in proportion to the pool sizes (about 3:1)", async () => {
    const c = await draws("concat", 4000);
    expect(c.real / 4000).toBeGreaterThan(0.72);
    expect(c.real / 4000).toBeLessThan(0.78);
  });

  it("holds out 20 % of each source's subjects, never splitting a subject", () => {
    const set = arrangeTrainingSet([source("real", 30, 10), source("synthetic", 10, 10)], "equal", 0.2, 0);
    expect(set.counts).toEqual([
      { datasetId: "real", train: 240, validation: 60 },
      { datasetId: "synthetic", train: 80, validation: 20 },
    ]);
    const trainSubjects = new Set<string>();
    for (const p of set.data.train)
      for (let i = 0; i < p.length; i++) trainSubjects.add(p.groupOf!(i).split(":").pop()!);
    const v = set.data.validation;
    for (let i = 0; i < v.length; i++) expect(trainSubjects.has(v.groupOf!(i).split(":").pop()!)).toBe(false);
  });

  it("rejects a mask value outside the label set with a message naming the dataset", () => {
    const s = source("real", 1, 1);
    const bad = new Uint8SliceSource(new Uint8Array(16 * 5).fill(77), 4, ["a"], maskLut(), "ds1");
    expect(() => bad.get(0)).toThrow(/dataset ds1: mask value 77/);
    expect(s.source.get(0).label.every((l) => l === 0)).toBe(true);
  });
});
