import { InvalidInput } from "@synthmri/core";
import { describe, expect, it } from "vitest";
import {
  hausdorffPercentile,
  type LabelVolume,
  SegmentationMetricsAccumulator,
  segmentationMetrics,
  squaredEdt3d,
} from "../src/metrics/index.js";
import { Rng } from "@synthmri/ml";

const vol = (shape: [number, number, number], labels: number[]): LabelVolume => ({
  data: Uint8Array.from(labels),
  shape,
});

describe("squaredEdt3d", () => {
  it("matches brute force on a random anisotropic volume", () => {
    const rng = new Rng(3);
    const shape: [number, number, number] = [5, 6, 7];
    const spacing: [number, number, number] = [2.5, 1, 0.7];
    const f = new Uint8Array(5 * 6 * 7);
    for (let i = 0; i < f.length; i++) f[i] = rng.bernoulli(0.05) ? 1 : 0;
    f[17] = 1;
    const d = squaredEdt3d(f, shape, spacing);
    let i = 0;
    for (let z = 0; z < 5; z++)
      for (let y = 0; y < 6; y++)
        for (let x = 0; x < 7; x++, i++) {
          let best = Number.POSITIVE_INFINITY;
          let j = 0;
          for (let z2 = 0; z2 < 5; z2++)
            for (let y2 = 0; y2 < 6; y2++)
              for (let x2 = 0; x2 < 7; x2++, j++)
                if (f[j])
                  best = Math.min(
                    best,
                    ((z - z2) * spacing[0]) ** 2 + ((y - y2) * spacing[1]) ** 2 + ((x - x2) * spacing[2]) ** 2,
                  );
          expect(d[i]).toBeCloseTo(best, 9);
        }
  });

  it("is infinite everywhere without features", () => {
    const d = squaredEdt3d(new Uint8Array(8), [2, 2, 2], [1, 1, 1]);
    expect([...d].every((v) => v === Number.POSITIVE_INFINITY)).toBe(true);
  });
});

describe("hausdorffPercentile", () => {
  it("uses the x spacing: single voxels 3 apart at 2 mm give 6 mm", () => {
    const p = new Uint8Array(10);
    const t = new Uint8Array(10);
    p[5] = 1;
    t[2] = 1;
    expect(hausdorffPercentile(p, t, [1, 1, 10], [1, 1, 2])).toBeCloseTo(6, 12);
  });

  it("uses the z spacing: 4 slices apart at 3 mm give 12 mm", () => {
    const p = new Uint8Array(5);
    const t = new Uint8Array(5);
    p[4] = 1;
    t[0] = 1;
    expect(hausdorffPercentile(p, t, [5, 1, 1], [3, 1, 1])).toBeCloseTo(12, 12);
  });

  it("interpolates the 95th percentile like numpy", () => {
    // truth x=0..3, prediction x=0..5 at 2 mm: pred->truth distances [0,0,0,0,2,4];
    // P95 at position 0.95*5 = 4.75 -> 2 + 0.75*(4-2) = 3.5. truth->pred distances are all 0.
    const p = new Uint8Array(8);
    const t = new Uint8Array(8);
    for (let x = 0; x <= 5; x++) p[x] = 1;
    for (let x = 0; x <= 3; x++) t[x] = 1;
    expect(hausdorffPercentile(p, t, [1, 1, 8], [1, 1, 2])).toBeCloseTo(3.5, 12);
    expect(hausdorffPercentile(t, p, [1, 1, 8], [1, 1, 2])).toBeCloseTo(3.5, 12);
  });

  it("measures surface to surface: a filled cube inside a larger cube", () => {
    // 3x3x3 cube centred in a 7x7x7 cube, isotropic 1 mm. Inner surface = 26 voxels (all but the centre);
    // each is 2 voxels from the outer surface along its outward axis. Outer surface voxels: faces are
    // 1..3 away from the inner cube; distances vary, so check against the symmetric definition by brute force.
    const n = 9;
    const p = new Uint8Array(n * n * n);
    const t = new Uint8Array(n * n * n);
    const idx = (z: number, y: number, x: number) => (z * n + y) * n + x;
    for (let z = 1; z < 8; z++) for (let y = 1; y < 8; y++) for (let x = 1; x < 8; x++) t[idx(z, y, x)] = 1;
    for (let z = 3; z < 6; z++) for (let y = 3; y < 6; y++) for (let x = 3; x < 6; x++) p[idx(z, y, x)] = 1;
    // inner -> outer: every inner surface voxel is exactly 2 mm from the nearest outer face voxel, so P95 = 2.
    // outer -> inner: face centres are 2 away, cube corners sqrt(12); P95 of that set is computed by brute force.
    const surf = (m: Uint8Array) => {
      const out: number[][] = [];
      for (let z = 0; z < n; z++)
        for (let y = 0; y < n; y++)
          for (let x = 0; x < n; x++) {
            if (!m[idx(z, y, x)]) continue;
            const nb = [
              [z - 1, y, x],
              [z + 1, y, x],
              [z, y - 1, x],
              [z, y + 1, x],
              [z, y, x - 1],
              [z, y, x + 1],
            ];
            if (nb.some(([a, b, c]) => !m[idx(a, b, c)])) out.push([z, y, x]);
          }
      return out;
    };
    const ps = surf(p);
    const ts = surf(t);
    const directed = (a: number[][], b: number[][]) =>
      a.map((u) => Math.min(...b.map((v) => Math.hypot(u[0] - v[0], u[1] - v[1], u[2] - v[2])))).sort((x, y) => x - y);
    const pct = (s: number[]) => {
      const pos = 0.95 * (s.length - 1);
      const lo = Math.floor(pos);
      return s[lo] + (pos - lo) * ((s[lo + 1] ?? s[lo]) - s[lo]);
    };
    expect(ps.length).toBe(26);
    const want = Math.max(pct(directed(ps, ts)), pct(directed(ts, ps)));
    expect(hausdorffPercentile(p, t, [n, n, n], [1, 1, 1])).toBeCloseTo(want, 10);
    expect(pct(directed(ps, ts))).toBeCloseTo(2, 12);
  });
});

describe("segmentationMetrics", () => {
  // 1 x 2 x 4 volume, labels (truth / prediction):
  // truth  [1 1 2 2 / 3 0 0 0]
  // pred   [1 2 2 2 / 3 3 0 0]
  const truth = vol([1, 2, 4], [1, 1, 2, 2, 3, 0, 0, 0]);
  const pred = vol([1, 2, 4], [1, 2, 2, 2, 3, 3, 0, 0]);

  it("computes Dice, sensitivity and specificity per class and region by hand", () => {
    const r = segmentationMetrics("s1", pred, truth, [1, 1, 1]);
    // NCR: truth {0,1}, pred {0}: tp 1 fp 0 fn 1 tn 6 -> Dice 2/3, sens 1/2, spec 1
    expect(r.classes.NCR?.dice).toBeCloseTo(2 / 3, 12);
    expect(r.classes.NCR?.sensitivity).toBeCloseTo(0.5, 12);
    expect(r.classes.NCR?.specificity).toBe(1);
    // ED: truth {2,3}, pred {1,2,3}: tp 2 fp 1 fn 0 tn 5 -> Dice 4/5, spec 5/6
    expect(r.classes.ED?.dice).toBeCloseTo(0.8, 12);
    expect(r.classes.ED?.specificity).toBeCloseTo(5 / 6, 12);
    // ET: truth {4}, pred {4,5}: Dice 2/3
    expect(r.classes.ET?.dice).toBeCloseTo(2 / 3, 12);
    // WT: truth {0..4}, pred {0..5}: tp 5 fp 1 -> Dice 10/11
    expect(r.classes.WT?.dice).toBeCloseTo(10 / 11, 12);
    // TC: truth {0,1,4}, pred {0,4,5}: tp 2 fp 1 fn 1 -> Dice 4/6
    expect(r.classes.TC?.dice).toBeCloseTo(2 / 3, 12);
    expect(r.emptyPolicy).toBe("both-empty-1");
    // ET HD95: pred {x0y1, x1y1} vs truth {x0y1}: distances pred->truth [0,1] -> P95 0.95; truth->pred 0.
    expect(r.classes.ET?.hd95).toBeCloseTo(0.95, 12);
  });

  it("applies the empty-case policies", () => {
    const none = vol([1, 2, 4], [0, 0, 0, 0, 0, 0, 2, 0]);
    const onlyEd = vol([1, 2, 4], [0, 0, 0, 0, 0, 0, 2, 0]);
    const brats = segmentationMetrics("s", onlyEd, none, [1, 1, 1]);
    expect(brats.classes.ET).toMatchObject({ dice: 1, hd95: 0, sensitivity: 1, emptyCase: "both" });
    const nn = segmentationMetrics("s", onlyEd, none, [1, 1, 1], { emptyPolicy: "nan-excluded" });
    expect(nn.classes.ET?.dice).toBeNaN();
    expect(nn.classes.ET?.hd95).toBeNaN();
    expect(nn.emptyPolicy).toBe("nan-excluded");
    // Prediction has ET where truth has none: Dice 0 under both policies; HD95 the volume diagonal by default.
    const fpEt = vol([1, 2, 4], [3, 0, 0, 0, 0, 0, 0, 0]);
    for (const emptyPolicy of ["both-empty-1", "nan-excluded"] as const) {
      const r = segmentationMetrics("s", fpEt, none, [2, 1, 1], { emptyPolicy });
      expect(r.classes.ET?.dice).toBe(0);
      expect(r.classes.ET?.emptyCase).toBe("truth");
      expect(r.classes.ET?.hd95).toBeCloseTo(Math.hypot(2, 2, 4), 12);
    }
    // Truth has ET, prediction none: Dice 0, sensitivity 0; HD95 configurable.
    const r = segmentationMetrics("s", none, fpEt, [1, 1, 1], { hd95OneEmpty: 373.13 });
    expect(r.classes.ET).toMatchObject({ dice: 0, sensitivity: 0, hd95: 373.13, emptyCase: "pred" });
    expect(segmentationMetrics("s", none, fpEt, [1, 1, 1], { hd95OneEmpty: "nan" }).classes.ET?.hd95).toBeNaN();
  });

  it("rejects mismatched shapes, labels outside the scheme and bad spacing with actionable messages", () => {
    expect(() => segmentationMetrics("s", vol([1, 1, 2], [0, 0]), vol([1, 2, 1], [0, 0]), [1, 1, 1])).toThrow(
      /prediction shape \[1, 1, 2\] differs from ground truth \[1, 2, 1\]/,
    );
    expect(() => segmentationMetrics("s", vol([1, 1, 2], [4, 0]), vol([1, 1, 2], [0, 0]), [1, 1, 1])).toThrow(
      InvalidInput,
    );
    expect(() => segmentationMetrics("s", vol([1, 1, 2], [4, 0]), vol([1, 1, 2], [0, 0]), [1, 1, 1])).toThrow(
      /label 4.*convert BraTS label 4 to 3/,
    );
    expect(() => segmentationMetrics("s", vol([1, 1, 2], [0, 0]), vol([1, 1, 2], [0, 0]), [1, 0, 1])).toThrow(
      /spacing/,
    );
    expect(() => segmentationMetrics("s", vol([1, 1, 3], [0, 0]), vol([1, 1, 3], [0, 0]), [1, 1, 1])).toThrow(
      /2 voxels but shape/,
    );
  });

  it("handles a BraTS-sized volume (work is cropped to the tumour box)", () => {
    const shape: [number, number, number] = [155, 240, 240];
    const t = new Uint8Array(155 * 240 * 240);
    const p = new Uint8Array(t.length);
    for (let z = 60; z < 90; z++)
      for (let y = 100; y < 140; y++)
        for (let x = 100; x < 140; x++) {
          const i = (z * 240 + y) * 240 + x;
          t[i] = x < 120 ? 2 : 1;
          p[i + 2] = x < 118 ? 2 : 3;
        }
    const r = segmentationMetrics("big", { data: p, shape }, { data: t, shape }, [1, 1, 1]);
    // The prediction is the truth shifted 2 voxels along x: every surface is 0 or 2 mm away.
    expect(r.classes.WT?.hd95).toBeCloseTo(2, 9);
    expect(r.classes.WT?.dice).toBeCloseTo((2 * 38) / 80, 9);
  });
});

describe("SegmentationMetricsAccumulator", () => {
  it("aggregates per class with NaN exclusion counted", () => {
    const acc = new SegmentationMetricsAccumulator();
    const truth = vol([1, 1, 4], [1, 1, 0, 0]);
    acc.add(segmentationMetrics("a", vol([1, 1, 4], [1, 1, 0, 0]), truth, [1, 1, 1], { emptyPolicy: "nan-excluded" }));
    acc.add(segmentationMetrics("b", vol([1, 1, 4], [1, 0, 0, 0]), truth, [1, 1, 1], { emptyPolicy: "nan-excluded" }));
    const agg = acc.aggregate();
    expect(agg.nSubjects).toBe(2);
    expect(agg.classes.NCR?.dice.mean).toBeCloseTo((1 + 2 / 3) / 2, 12);
    expect(agg.classes.NCR?.dice.std).toBeCloseTo(Math.SQRT1_2 * (1 / 3), 12);
    expect(agg.classes.ET?.dice).toMatchObject({ n: 0, nExcluded: 2 });
    expect(() => acc.add(segmentationMetrics("a", truth, truth, [1, 1, 1]))).toThrow(/already added/);
    expect(() => acc.add(segmentationMetrics("c", truth, truth, [1, 1, 1]))).toThrow(/empty policy/);
  });
});
