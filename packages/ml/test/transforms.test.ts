import { describe, expect, it } from "vitest";
import {
  Compose,
  RandGamma,
  RandGaussianBlur,
  RandGaussianNoise,
  RandLowResolution,
  RandRotateScale,
  Rng,
  type SegSample,
  segmentationAugmentation,
  type Transform,
  warp,
  ZScore,
  zScoreInPlace,
} from "../src/index.js";

/** A 4-channel "brain" disc with a labelled tumour blob of classes 1..3 and a zero background. */
function phantom(h = 24, w = 20, seed = 1): SegSample {
  const rng = new Rng(seed);
  const image = new Float32Array(h * w * 4);
  const label = new Uint8Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const r = Math.hypot(y - h / 2, x - w / 2);
      if (r > Math.min(h, w) / 2 - 1) continue;
      const i = y * w + x;
      for (let c = 0; c < 4; c++) image[i * 4 + c] = 100 + 20 * c + 5 * rng.normal();
      if (r < 2) label[i] = 3;
      else if (r < 3) label[i] = 1;
      else if (r < 5) label[i] = 2;
    }
  return { height: h, width: w, channels: 4, image, label };
}

const all: Transform[] = [
  new RandRotateScale({ pRotate: 1, pScale: 1 }),
  new RandGaussianNoise({ p: 1 }),
  new RandGaussianBlur({ p: 1 }),
  new RandLowResolution({ p: 1 }),
  new RandGamma({ p: 1 }),
  new ZScore(),
  segmentationAugmentation(),
];

describe("augmentations", () => {
  it.each(all.map((t) => [t.name, t] as const))(
    "%s keeps shapes, label set, input, and is seed-deterministic",
    (_, t) => {
      const s = phantom();
      const imageBefore = new Float32Array(s.image);
      const labelBefore = new Uint8Array(s.label);
      for (let seed = 0; seed < 5; seed++) {
        const a = t.apply(s, new Rng(seed));
        const b = t.apply(s, new Rng(seed));
        expect([a.height, a.width, a.channels]).toEqual([24, 20, 4]);
        expect(a.image.length).toBe(s.image.length);
        expect(a.label.length).toBe(s.label.length);
        expect(a.image).toEqual(b.image);
        expect(a.label).toEqual(b.label);
        expect(a.label.every((v) => v <= 3)).toBe(true);
        expect(a.image.every((v) => Number.isFinite(v))).toBe(true);
      }
      expect(s.image).toEqual(imageBefore);
      expect(s.label).toEqual(labelBefore);
    },
  );

  it("p = 0 is the identity and a different seed changes the output", () => {
    const s = phantom();
    const off = new Compose([
      new RandRotateScale({ pRotate: 0, pScale: 0 }),
      new RandGaussianNoise({ p: 0 }),
      new RandGaussianBlur({ p: 0 }),
      new RandLowResolution({ p: 0 }),
      new RandGamma({ p: 0 }),
    ]);
    const o = off.apply(s, new Rng(3));
    expect(o.image).toEqual(s.image);
    expect(o.label).toEqual(s.label);
    const aug = segmentationAugmentation();
    expect(aug.apply(s, new Rng(1)).image).not.toEqual(aug.apply(s, new Rng(2)).image);
  });

  it("rotation by 90 degrees moves labels like the image (nearest for labels)", () => {
    const s = phantom(21, 21);
    s.label.fill(0);
    s.label[5 * 21 + 10] = 2; // above the centre
    const r = new RandRotateScale({ pRotate: 1, pScale: 0, maxDegrees: 30 }).apply(s, new Rng(0));
    expect(r.label.reduce((a, v) => a + (v ? 1 : 0), 0)).toBeLessThanOrEqual(1);
    // a full warp at exactly 90 degrees via scale 1: the single pixel lands at a pixel 5 from the centre
    const w90 = warp(s, Math.PI / 2, 1, 1);
    const idx = w90.label.indexOf(2);
    const [y, x] = [Math.floor(idx / 21), idx % 21];
    expect(Math.hypot(y - 10, x - 10)).toBeCloseTo(5, 5);
  });

  it("z-score gives mean 0 / sd 1 inside the brain and 0 outside", () => {
    const s = phantom();
    const out = zScoreInPlace(new Float32Array(s.image), s.height, s.width, 4);
    for (let c = 0; c < 4; c++) {
      const vals: number[] = [];
      for (let i = 0; i < s.height * s.width; i++) {
        const inBrain = [0, 1, 2, 3].some((k) => s.image[i * 4 + k] !== 0);
        if (inBrain) vals.push(out[i * 4 + c]);
        else expect(out[i * 4 + c]).toBe(0);
      }
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(sd).toBeCloseTo(1, 4);
    }
  });

  it("blur and low resolution leave a constant image unchanged; gamma keeps each channel's range", () => {
    const s: SegSample = {
      height: 8,
      width: 8,
      channels: 4,
      image: new Float32Array(256).fill(7),
      label: new Uint8Array(64),
    };
    for (const t of [new RandGaussianBlur({ p: 1 }), new RandLowResolution({ p: 1 })]) {
      for (const v of t.apply(s, new Rng(1)).image) expect(v).toBeCloseTo(7, 5);
    }
    const p = phantom();
    const g = new RandGamma({ p: 1 }).apply(p, new Rng(4));
    for (let c = 0; c < 4; c++) {
      const ch = (img: Float32Array) => img.filter((_, i) => i % 4 === c);
      expect(Math.min(...ch(g.image))).toBeCloseTo(Math.min(...ch(p.image)), 3);
      expect(Math.max(...ch(g.image))).toBeCloseTo(Math.max(...ch(p.image)), 3);
    }
  });
});
