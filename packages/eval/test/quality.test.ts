import { tf } from "@synthmri/ml";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FeatureStatsAccumulator,
  featureFrechetDistance,
  frechetBetween,
  frechetDistance,
  type ImageSet,
  laplacianPyramid,
  MemorizationGate,
  memorizationReport,
  pyrUp,
  slicedWassersteinDistance,
  traceSqrtProduct,
} from "../src/quality/index.js";
import { Rng } from "@synthmri/ml";

/** Smooth random blobs (a crude "brain") plus noise of a given strength, NHWC uint8. */
function blobs(n: number, h: number, w: number, c: number, seed: number, noise = 5, freq = 1): ImageSet {
  const rng = new Rng(seed);
  const data = new Uint8Array(n * h * w * c);
  for (let i = 0; i < n; i++) {
    const cx = rng.uniform(0.3, 0.7) * w;
    const cy = rng.uniform(0.3, 0.7) * h;
    const r = rng.uniform(0.2, 0.35) * Math.min(h, w);
    for (let ch = 0; ch < c; ch++) {
      const amp = rng.uniform(100, 200);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const d = Math.hypot(x - cx, y - cy) / r;
          const v = d < 1 ? amp * (1 - d * d) * (0.8 + 0.2 * Math.cos(freq * x)) : 0;
          data[((i * h + y) * w + x) * c + ch] = Math.max(0, Math.min(255, Math.round(v + noise * rng.normal())));
        }
    }
  }
  return { data, n, h, w, c };
}

describe("Laplacian pyramid", () => {
  it("reconstructs the image exactly by upsampling and adding the levels back", () => {
    const rng = new Rng(1);
    const img = new Float64Array(40 * 36);
    for (let i = 0; i < img.length; i++) img[i] = rng.uniform(0, 255);
    const lap = laplacianPyramid(img, 40, 36, 8);
    expect(lap.map((l) => [l.h, l.w])).toEqual([
      [40, 36],
      [20, 18],
      [10, 9],
    ]);
    let cur = lap[lap.length - 1];
    for (let i = lap.length - 2; i >= 0; i--) {
      const up = pyrUp(cur.data, cur.h, cur.w, lap[i].h, lap[i].w);
      const next = new Float64Array(up.length);
      for (let p = 0; p < up.length; p++) next[p] = up[p] + lap[i].data[p];
      cur = { data: next, h: lap[i].h, w: lap[i].w };
    }
    for (let p = 0; p < img.length; p++) expect(cur.data[p]).toBeCloseTo(img[p], 9);
  });
});

describe("sliced Wasserstein distance", () => {
  const opts = { nhoodsPerImage: 32, dirRepeats: 2, dirsPerRepeat: 32, seed: 5 };
  const real = blobs(8, 32, 32, 2, 1);
  const sameDist = blobs(8, 32, 32, 2, 2);
  const noisy = blobs(8, 32, 32, 2, 3, 60, 2.5);

  it("is smaller for the same distribution than for a different one, per level and channel, and seeded", () => {
    const near = slicedWassersteinDistance(real, sameDist, opts);
    const far = slicedWassersteinDistance(real, noisy, opts);
    expect(near.levels.map((l) => [l.h, l.w])).toEqual([
      [32, 32],
      [16, 16],
    ]);
    expect(near.meanAll).toBeLessThan(far.meanAll);
    for (let ch = 0; ch < 2; ch++) expect(near.meanPerChannel[ch]).toBeLessThan(far.meanPerChannel[ch]);
    expect(near.descriptors).toBe(8 * 32);
    expect(slicedWassersteinDistance(real, sameDist, opts).meanAll).toBe(near.meanAll);
  });

  it("rejects sets of different shapes or too small images", () => {
    expect(() => slicedWassersteinDistance(real, blobs(2, 32, 32, 3, 1), opts)).toThrow(/image shapes differ/);
    expect(() => slicedWassersteinDistance(blobs(2, 8, 8, 1, 1), blobs(2, 8, 8, 1, 1), opts)).toThrow(/at least 16x16/);
    expect(() => slicedWassersteinDistance({ data: new Uint8Array(0), n: 0, h: 32, w: 32, c: 2 }, real)).toThrow(
      /empty/,
    );
  });
});

describe("Fréchet maths", () => {
  it("tr sqrt(S1 S2) of diagonal matrices is sum sqrt(a_i b_i); rotation-invariant", () => {
    expect(traceSqrtProduct([4, 0, 0, 9], [1, 0, 0, 4], 2)).toBeCloseTo(2 + 6, 10);
    // Rotate both by 30 degrees: same trace.
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    const rot = (d0: number, d1: number) => [
      c * c * d0 + s * s * d1,
      c * s * (d0 - d1),
      c * s * (d0 - d1),
      s * s * d0 + c * c * d1,
    ];
    expect(traceSqrtProduct(rot(4, 9), rot(1, 4), 2)).toBeCloseTo(8, 9);
    // N(0, I) vs N((3,4), 4I) in 2D: 25 + tr(I + 4I - 2*2I) = 25 + 2.
    expect(frechetDistance([0, 0], [1, 0, 0, 1], [3, 4], [4, 0, 0, 4], 2)).toBeCloseTo(27, 10);
  });
});

describe("feature Fréchet distance (random conv net)", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  it("is ~0 for identical sets, smaller for the same distribution, and leaks no tensors", () => {
    const before = tf.memory().numTensors;
    const a = blobs(12, 32, 32, 2, 11);
    const b = blobs(12, 32, 32, 2, 12);
    const far = blobs(12, 32, 32, 2, 13, 60, 2.5);
    const same = featureFrechetDistance(a, a);
    expect(same.distance).toBeLessThan(1e-6);
    expect(same.featureDim).toBe(128);
    expect(featureFrechetDistance(a, b).distance).toBeLessThan(featureFrechetDistance(a, far).distance);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("streaming accumulators give the one-shot distance", () => {
    const a = blobs(10, 16, 16, 1, 31);
    const b = blobs(10, 16, 16, 1, 32, 40, 2);
    const accA = new FeatureStatsAccumulator();
    const accB = new FeatureStatsAccumulator();
    const half = 6 * 16 * 16;
    accA.add({ ...a, n: 6, data: a.data.subarray(0, half) });
    accA.add({ ...a, n: 4, data: a.data.subarray(half) });
    accB.add(b);
    const oneShot = featureFrechetDistance(a, b).distance;
    expect(frechetBetween(accA, accB).distance).toBeCloseTo(oneShot, 6);
    expect(() => accA.add(blobs(2, 16, 16, 2, 1))).toThrow(/earlier batches/);
  });
});

describe("memorization", () => {
  const real = blobs(20, 24, 24, 5, 21);
  // Synthetic: 4 fresh samples and a copy of real slice 7 with slight noise.
  const fresh = blobs(4, 24, 24, 5, 22);
  const per = 24 * 24 * 5;
  const synData = new Uint8Array(5 * per);
  synData.set(fresh.data, 0);
  const rng = new Rng(9);
  for (let p = 0; p < per; p++)
    synData[4 * per + p] = Math.max(0, Math.min(255, real.data[7 * per + p] + Math.round(rng.normal())));
  const synthetic: ImageSet = { data: synData, n: 5, h: 24, w: 24, c: 5 };

  it("a real slice injected as synthetic gets NCC ~ 1 and is blocked; fresh samples pass", () => {
    const gate = new MemorizationGate(real, { nccThreshold: 0.95 });
    const decisions = gate.check(synthetic);
    expect(decisions.slice(0, 4).every((d) => d.pass)).toBe(true);
    expect(decisions[4].pass).toBe(false);
    expect(decisions[4].maxNcc).toBeGreaterThan(0.99);
    expect(decisions[4].match.perChannel.every((c) => c.nccIndex === 7 && c.l2Index === 7)).toBe(true);
    expect(decisions[4].reason).toMatch(/real slice 7/);
    for (const d of decisions.slice(0, 4)) expect(d.maxNcc).toBeLessThan(0.95);
  });

  it("matches a brute-force NCC and L2 for one pair", () => {
    const gate = new MemorizationGate(real, { channels: [2] });
    const m = gate.match(synthetic)[1].perChannel[0];
    const plane = (s: ImageSet, i: number) => Array.from({ length: 24 * 24 }, (_, p) => s.data[i * per + p * 5 + 2]);
    const sv = plane(synthetic, 1);
    let best = -2;
    let bestL2 = Infinity;
    for (let r = 0; r < 20; r++) {
      const rv = plane(real, r);
      const ms = sv.reduce((a, b) => a + b) / sv.length;
      const mr = rv.reduce((a, b) => a + b) / rv.length;
      let num = 0;
      let ns = 0;
      let nr = 0;
      let l2 = 0;
      for (let p = 0; p < sv.length; p++) {
        num += (sv[p] - ms) * (rv[p] - mr);
        ns += (sv[p] - ms) ** 2;
        nr += (rv[p] - mr) ** 2;
        l2 += (sv[p] - rv[p]) ** 2;
      }
      best = Math.max(best, num / Math.sqrt(ns * nr));
      bestL2 = Math.min(bestL2, Math.sqrt(l2));
    }
    expect(m.maxNcc).toBeCloseTo(best, 9);
    expect(m.minL2).toBeCloseTo(bestL2, 6);
  });

  it("reports the distribution and the samples over the threshold", () => {
    const rep = memorizationReport(synthetic, real, { channels: [0, 1, 2, 3], bins: 10 });
    expect(rep.flagged.map((f) => f.index)).toEqual([4]);
    expect(rep.perChannel).toHaveLength(4);
    expect(rep.perChannel[0].ncc.histogram.counts.reduce((a, b) => a + b)).toBe(5);
    expect(rep.perChannel[0].ncc.quantiles.at(-1)?.value).toBeGreaterThan(0.99);
    expect(() => new MemorizationGate(real, { channels: [5] })).toThrow(/0\.\.4/);
    expect(() => new MemorizationGate(real).match(blobs(1, 16, 16, 5, 1))).toThrow(/image shapes differ/);
  });
});
