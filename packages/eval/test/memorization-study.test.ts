import { describe, expect, it } from "vitest";
import { decodePng } from "../src/figures/index.js";
import {
  compareToHeldOut,
  type ImageSet,
  MaxCorrelationAccumulator,
  maxCorrelations,
  memorizationStudyFigure,
  sideBySide,
} from "../src/quality/index.js";
import { Rng } from "@synthmri/ml";

/** n random images [n, 8, 8, c] in 0..255. */
function noise(rng: Rng, n: number, c = 3): ImageSet {
  const data = new Float32Array(n * 8 * 8 * c);
  for (let i = 0; i < data.length; i++) data[i] = 255 * rng.next();
  return { data, n, h: 8, w: 8, c };
}

function pick(set: ImageSet, indices: number[], jitter = 0, rng?: Rng): ImageSet {
  const per = set.h * set.w * set.c;
  const data = new Float32Array(indices.length * per);
  indices.forEach((i, k) => {
    for (let p = 0; p < per; p++) data[k * per + p] = set.data[i * per + p] + (rng ? jitter * rng.normal() : 0);
  });
  return { ...set, data, n: indices.length };
}

describe("memorization study (seed 004)", () => {
  it("lays the chosen channels side by side", () => {
    // 1 image 1x2, 3 channels: pixel 0 = (1, 2, 3), pixel 1 = (4, 5, 6).
    const s = sideBySide({ data: Float32Array.from([1, 2, 3, 4, 5, 6]), n: 1, h: 1, w: 2, c: 3 }, [2, 0]);
    expect([s.n, s.h, s.w, s.c]).toEqual([1, 1, 4, 1]);
    expect([...s.data]).toEqual([3, 6, 1, 4]);
    expect(() => sideBySide({ data: new Float32Array(6), n: 1, h: 1, w: 2, c: 3 }, [3])).toThrow(/indices in 0..2/);
  });

  it("a copy of a training image correlates 1, a fresh image far less; channels count jointly", () => {
    const rng = new Rng(7);
    const train = noise(rng, 20);
    const copies = pick(train, [3, 11]);
    const fresh = noise(rng, 5);
    const acc = new MaxCorrelationAccumulator(train, [0, 1, 2]).add(copies).add(fresh);
    const v = acc.values;
    expect(acc.referenceCount).toBe(20);
    expect(v).toHaveLength(7);
    expect(v[0]).toBeCloseTo(1, 6);
    expect(v[1]).toBeCloseTo(1, 6);
    for (const x of v.slice(2)) expect(x).toBeLessThan(0.6);
    // One copied channel of three is not a copy of the image.
    const partial = pick(fresh, [0]);
    const per = 8 * 8 * 3;
    for (let p = 0; p < 64; p++) partial.data[p * 3] = train.data[5 * per + p * 3];
    const [m] = maxCorrelations(partial, train, [0, 1, 2]);
    expect(m).toBeGreaterThan(0.3);
    expect(m).toBeLessThan(0.75);
    expect(maxCorrelations(partial, train, [0])[0]).toBeCloseTo(1, 6);
  });

  it("compares against the held-out baseline: copies give AUC 1, same-distribution images about 0.5", () => {
    const rng = new Rng(11);
    const train = noise(rng, 40);
    const heldOut = maxCorrelations(noise(rng, 60), train, [0, 1, 2]);
    const copying = maxCorrelations(pick(train, [0, 1, 2, 3, 4, 5], 10, rng), train, [0, 1, 2]);
    const novel = maxCorrelations(noise(rng, 60), train, [0, 1, 2]);
    const c = compareToHeldOut(copying, heldOut);
    expect(c.auc).toBe(1);
    expect(c.aboveHeldOutMax).toBe(1);
    expect(c.synthetic.n).toBe(6);
    expect(c.heldOut.n).toBe(60);
    const n = compareToHeldOut(novel, heldOut);
    expect(n.auc).toBeGreaterThan(0.3);
    expect(n.auc).toBeLessThan(0.7);
    expect(n.aboveHeldOutMax).toBeLessThan(0.1);
  });

  it("AUC counts ties half and orders exactly", () => {
    expect(compareToHeldOut([0.5], [0.5]).auc).toBe(0.5);
    expect(compareToHeldOut([0.2, 0.9], [0.1, 0.5, 0.9]).auc).toBeCloseTo((1 + 2.5) / 6, 12);
    const c = compareToHeldOut([0.1, 0.2, 0.3, 0.4], [0.25, 0.35]);
    expect(c.auc).toBeCloseTo(3 / 8, 12);
    expect(c.aboveHeldOutMax).toBe(0.25);
    expect(c.synthetic.max).toBe(0.4);
    expect(() => compareToHeldOut([], [0.1])).toThrow(/empty/);
    expect(() => compareToHeldOut([Number.NaN], [0.1])).toThrow(/NaN/);
  });

  it("draws the held-out and synthetic distributions per arm", () => {
    const png = memorizationStudyFigure([
      { label: "ddpm full", synthetic: [0.6, 0.7, 0.8], heldOut: [0.5, 0.6, 0.65] },
      { label: "ddpm 20 %", synthetic: [0.9, 0.95, 0.97], heldOut: [0.4, 0.5, 0.55] },
    ]);
    const img = decodePng(png);
    expect(img.width).toBeGreaterThan(100);
    expect(img.height).toBeGreaterThan(100);
    expect(() => memorizationStudyFigure([])).toThrow(/at least one arm/);
  });
});
