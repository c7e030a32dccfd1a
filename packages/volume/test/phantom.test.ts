import { describe, expect, it } from "vitest";
import {
  generatePhantomCohort,
  generatePhantomSubject,
  phantomSubjectFiles,
  readNifti,
  sliceSubject,
} from "../src/index.js";

const size: [number, number, number] = [48, 48, 32];

function meanWhere(v: Int16Array, seg: Uint8Array, pred: (label: number, value: number) => boolean): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (pred(seg[i], v[i])) {
      s += v[i];
      n++;
    }
  }
  return s / n;
}

describe("phantom cohort", () => {
  const cohort = generatePhantomCohort({ subjects: 4, size, seed: 7 });

  it("is reproducible from its seed and varies with it", () => {
    const again = generatePhantomSubject(2, { size, seed: 7 });
    expect(Buffer.from(again.flair.buffer).equals(Buffer.from(cohort[2].flair.buffer))).toBe(true);
    expect(Buffer.from(again.seg).equals(Buffer.from(cohort[2].seg))).toBe(true);
    const other = generatePhantomSubject(2, { size, seed: 8 });
    expect(Buffer.from(other.seg).equals(Buffer.from(cohort[2].seg))).toBe(false);
    expect(cohort.map((s) => s.id)).toEqual([
      "BraTS20_Training_001",
      "BraTS20_Training_002",
      "BraTS20_Training_003",
      "BraTS20_Training_004",
    ]);
  });

  it("uses BraTS 2020 labels, every subject has all three, and they nest (NCR inside ET inside ED)", () => {
    for (const s of cohort) {
      const present = new Set(s.seg);
      expect([...present].sort()).toEqual([0, 1, 2, 4]);
      const [X, Y] = s.shape;
      const steps = [1, -1, X, -X, X * Y, -X * Y];
      for (let i = 0; i < s.seg.length; i++) {
        if (s.seg[i] !== 1) continue;
        for (const st of steps) expect([1, 4]).toContain(s.seg[i + st]);
      }
    }
  });

  it("has the clinical contrast relations", () => {
    for (const s of cohort) {
      const brain = (l: number, v: number) => l === 0 && v > 0;
      const lab = (x: number) => (l: number) => l === x;
      expect(meanWhere(s.flair, s.seg, lab(2))).toBeGreaterThan(1.3 * meanWhere(s.flair, s.seg, brain));
      expect(meanWhere(s.t2, s.seg, lab(2))).toBeGreaterThan(meanWhere(s.t2, s.seg, brain));
      expect(meanWhere(s.t1ce, s.seg, lab(4))).toBeGreaterThan(1.3 * meanWhere(s.t1ce, s.seg, brain));
      expect(meanWhere(s.t1ce, s.seg, lab(4))).toBeGreaterThan(1.3 * meanWhere(s.t1, s.seg, lab(4)));
      expect(meanWhere(s.t1, s.seg, lab(1))).toBeLessThan(0.6 * meanWhere(s.t1, s.seg, brain));
      expect(meanWhere(s.t1ce, s.seg, lab(1))).toBeLessThan(0.6 * meanWhere(s.t1ce, s.seg, brain));
      expect(meanWhere(s.t2, s.seg, lab(1))).toBeGreaterThan(meanWhere(s.t2, s.seg, brain));
    }
  });

  it("varies tumour position and size across subjects", () => {
    const centres = cohort.map((s) => s.tumour.centre.map(Math.round).join(","));
    expect(new Set(centres).size).toBe(cohort.length);
    const radii = cohort.map((s) => s.tumour.radii[2]);
    expect(Math.max(...radii) / Math.min(...radii)).toBeGreaterThan(1.1);
  });

  it("writes real BraTS-2020 .nii.gz files with LPS 1 mm geometry", () => {
    const s = cohort[0];
    const files = phantomSubjectFiles(s);
    expect(Object.keys(files).sort()).toEqual(
      ["flair", "seg", "t1", "t1ce", "t2"].map((q) => `BraTS20_Training_001_${q}.nii.gz`),
    );
    const t1 = readNifti(files["BraTS20_Training_001_t1.nii.gz"], "t1");
    expect(t1.datatype.name).toBe("int16");
    expect(Array.from(t1.data)).toEqual(Array.from(s.t1));
    expect(t1.spacing).toEqual([1, 1, 1]);
    const seg = readNifti(files["BraTS20_Training_001_seg.nii.gz"], "seg");
    expect(seg.datatype.name).toBe("uint8");
    expect(seg.affine).toEqual(s.affine);
  });
});

describe("phantom learnability", () => {
  it("a one-parameter FLAIR threshold fitted on one subject segments the whole tumour of others (Dice > 0.7)", () => {
    const subjects = generatePhantomCohort({ subjects: 4, size: [64, 64, 40], seed: 11 });
    const sliced = subjects.map(
      (s) => sliceSubject(s.id, { ...s, seg: Uint8Array.from(s.seg, (v) => (v === 4 ? 3 : v)) }).batch,
    );
    const flairAndWt = (b: (typeof sliced)[number]) => {
      const f: number[] = [];
      const wt: boolean[] = [];
      for (let p = 0; p < b.data.length; p += 5) {
        f.push(b.data[p + 3]);
        wt.push(b.data[p + 4] > 0);
      }
      return { f, wt };
    };
    const dice = (b: (typeof sliced)[number], t: number) => {
      const { f, wt } = flairAndWt(b);
      let inter = 0;
      let a = 0;
      let g = 0;
      f.forEach((v, i) => {
        const pred = v > t;
        if (pred && wt[i]) inter++;
        if (pred) a++;
        if (wt[i]) g++;
      });
      return (2 * inter) / (a + g);
    };
    // (measured: threshold 175 gives Dice ~0.98 on the held-out subjects)
    let best = 0;
    let bestT = 0;
    for (let t = 0; t < 255; t += 5) {
      const d = dice(sliced[0], t);
      if (d > best) [best, bestT] = [d, t];
    }
    const held = sliced.slice(1).map((b) => dice(b, bestT));
    for (const d of held) expect(d).toBeGreaterThan(0.7);
  });
});
