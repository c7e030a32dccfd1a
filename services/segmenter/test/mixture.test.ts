// Mixture sampling proportions of the training set arrangement (domain level, no server): "equal" draws
// each source equally often whatever its size (seed 000's real + synthetic), "concat" in proportion to size;
// validation holds out 20 % of each source's subjects.
import { MixedSampler, Rng } from "@synthmri/ml";
import { describe, expect, it } from "vitest";
import { maskLut } from "@synthmri/core";
import { arrangeTrainingSet, type LoadedSource, Uint8SliceSource } from "../src/domain/training-data.js";
import type { Mixture } from "../src/domain/types.js";

function source(
  name: string,
  subjects: number,
  slicesPerSubject: number,
  origin: "real" | "synthetic" = "real",
): LoadedSource {
  const size = 4;
  const n = subjects * slicesPerSubject;
  const data = new Uint8Array(n * size * size * 5);
  // Tag every slice with its source in the T1 channel so that draws can be attributed.
  for (let i = 0; i < n; i++) data.fill(name === "real" ? 10 : 20, i * size * size * 5, i * size * size * 5 + 1);
  const ids = Array.from({ length: n }, (_, i) => `${name}-${Math.floor(i / slicesPerSubject)}`);
  return {
    spec: { datasetId: name, split: "train", maxSlices: 0 },
    manifest: { origin } as LoadedSource["manifest"],
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

  it("holds out 20 % of a synthetic set's images: a 1-GAN set (one 'subject') gets a validation set", () => {
    // Synthetic slices carry the GAN member as subject (syn-<ens>-m<member>): a by-subject split of a 1-GAN set
    // would validate on nothing, and a 3-GAN set would select on a whole member.
    const set = arrangeTrainingSet([source("syn-1", 1, 100, "synthetic")], "equal", 0.2, 0);
    expect(set.counts).toEqual([{ datasetId: "syn-1", train: 80, validation: 20 }]);
    const three = arrangeTrainingSet([source("syn-3", 3, 50, "synthetic")], "equal", 0.2, 0);
    expect(three.counts).toEqual([{ datasetId: "syn-3", train: 120, validation: 30 }]);
    // Every member appears in validation, and no image is in both parts (each slice is tagged by its index).
    const v = three.data.validation;
    const members = new Set(Array.from({ length: v.length }, (_, i) => v.groupOf!(i).split(":").pop()));
    expect(members.size).toBe(3);
  });

  it("never puts an image in both training and validation; the split is seeded", async () => {
    const tagged = (): LoadedSource => {
      const s = source("syn", 2, 40, "synthetic");
      const n = 80;
      const data = new Uint8Array(n * 16 * 5);
      for (let i = 0; i < n; i++) data[i * 16 * 5] = i; // slice index in the first T1 pixel
      const ids = Array.from({ length: n }, (_, i) => `syn-0-m${i % 2}`);
      return { ...s, source: new Uint8SliceSource(data, 4, ids, maskLut(), "syn") };
    };
    const tags = async (src: { length: number; get(i: number): unknown }) => {
      const out: number[] = [];
      for (let i = 0; i < src.length; i++) out.push(((await src.get(i)) as { image: Float32Array }).image[0]);
      return out;
    };
    const a = arrangeTrainingSet([tagged()], "equal", 0.2, 5);
    const train = await tags(a.data.train[0]);
    const val = await tags(a.data.validation);
    expect(val.length).toBe(16);
    expect(train.filter((t) => val.includes(t))).toEqual([]);
    expect(new Set([...train, ...val]).size).toBe(80);
    const b = arrangeTrainingSet([tagged()], "equal", 0.2, 5);
    expect(await tags(b.data.validation)).toEqual(val);
    const c = arrangeTrainingSet([tagged()], "equal", 0.2, 6);
    expect(await tags(c.data.validation)).not.toEqual(val);
  });

  it("real-subjects: every condition validates on the same held-out real subjects", () => {
    const real = source("real", 30, 10);
    const syn = source("syn", 3, 50, "synthetic");
    const realOnly = arrangeTrainingSet([real], "equal", 0.2, 3, { validation: "real-subjects" });
    const synOnly = arrangeTrainingSet([syn], "equal", 0.2, 3, { validation: "real-subjects", validationOnly: [real] });
    const mixed = arrangeTrainingSet([real, syn], "equal", 0.2, 3, { validation: "real-subjects" });
    const subjects = (v: { length: number; groupOf?: (i: number) => string }) =>
      [...new Set(Array.from({ length: v.length }, (_, i) => v.groupOf!(i).split(":").pop()))].sort();
    const expected = subjects(realOnly.data.validation);
    expect(expected.length).toBe(6);
    expect(subjects(synOnly.data.validation)).toEqual(expected);
    expect(subjects(mixed.data.validation)).toEqual(expected);
    // synthetic images all train when validation is on real subjects
    expect(synOnly.counts).toEqual([{ datasetId: "syn", train: 150, validation: 0 }]);
    expect(() => arrangeTrainingSet([syn], "equal", 0.2, 3, { validation: "real-subjects" })).toThrow(
      /needs a real training source or a real validation-only dataset/,
    );
  });

  it("rejects a mask value outside the label set with a message naming the dataset", () => {
    const s = source("real", 1, 1);
    const bad = new Uint8SliceSource(new Uint8Array(16 * 5).fill(77), 4, ["a"], maskLut(), "ds1");
    expect(() => bad.get(0)).toThrow(/dataset ds1: mask value 77/);
    expect(s.source.get(0).label.every((l) => l === 0)).toBe(true);
  });
});
