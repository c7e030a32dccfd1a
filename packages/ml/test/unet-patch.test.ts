import { describe, expect, it } from "vitest";
import { arraySegSource, cropPatch, Rng, type SegSample, tf, trainSegmenter } from "../src/index.js";

/** size x size sample whose image value encodes the pixel position, with a labelled square at (ty, tx). */
function positionSample(size: number, ty: number, tx: number, label = 1): SegSample {
  const c = 2;
  const image = new Float32Array(size * size * c);
  const lab = new Uint8Array(size * size);
  const mask = new Uint8Array(size * size).fill(1);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      image[i * c] = y;
      image[i * c + 1] = x;
      if (Math.abs(y - ty) <= 1 && Math.abs(x - tx) <= 1) lab[i] = label;
    }
  return { height: size, width: size, channels: c, image, label: lab, mask };
}

describe("cropPatch", () => {
  it("copies a contiguous window of image, label and mask", () => {
    const s = positionSample(16, 3, 12);
    const p = cropPatch(s, 8, new Rng(1), false);
    expect([p.height, p.width, p.channels]).toEqual([8, 8, 2]);
    const y0 = p.image[0];
    const x0 = p.image[1];
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) {
        const i = y * 8 + x;
        expect([p.image[i * 2], p.image[i * 2 + 1]]).toEqual([y0 + y, x0 + x]);
        expect(p.label[i]).toBe(s.label[(y0 + y) * 16 + x0 + x]);
      }
    expect(p.mask?.length).toBe(64);
  });

  it("a foreground crop always contains tumour, also at the slice's corner; uniform crops cover the slice", () => {
    const s = positionSample(32, 30, 1, 4);
    const rng = new Rng(7);
    const origins = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const f = cropPatch(s, 8, rng, true);
      expect(f.label.some((v) => v === 4)).toBe(true);
      const u = cropPatch(s, 8, rng, false);
      origins.add(`${u.image[0]},${u.image[1]}`);
      expect(u.image[0] + 7).toBeLessThan(32);
      expect(u.image[1] + 7).toBeLessThan(32);
    }
    expect(origins.size).toBeGreaterThan(100);
  });

  it("returns the sample itself when it already has the patch's size, and refuses larger patches", () => {
    const s = positionSample(8, 4, 4);
    expect(cropPatch(s, 8, new Rng(0), true)).toBe(s);
    expect(() => cropPatch(s, 16, new Rng(0), false)).toThrow(/larger than a 8x8/);
  });
});

describe("patch-based training", () => {
  it("trains on 16x16 crops of 32x32 slices and validates on whole slices, without leaking tensors", async () => {
    const rng = new Rng(3);
    const disc = (): SegSample => {
      const size = 32;
      const image = new Float32Array(size * size * 4);
      const label = new Uint8Array(size * size);
      const cy = rng.uniform(6, 26);
      const cx = rng.uniform(6, 26);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const i = y * size + x;
          const inside = Math.hypot(y - cy, x - cx) < 4;
          for (let c = 0; c < 4; c++) image[i * 4 + c] = (inside ? 2 : 0) + 0.1 * rng.normal();
          if (inside) label[i] = 2;
        }
      return { height: size, width: size, channels: 4, image, label };
    };
    const train = arraySegSource(Array.from({ length: 16 }, disc));
    const validation = arraySegSource(Array.from({ length: 4 }, disc));
    const before = tf.memory().numTensors;
    const res = await trainSegmenter({
      config: {
        unet: { inChannels: 4, numClasses: 4, widths: [4, 8, 16], deepSupervisionHeads: 2, inputSize: [32, 32] },
        batchSize: 4,
        epochs: 2,
        iterationsPerEpoch: 4,
        lr: 0.02,
        momentum: 0.9,
        patchSize: 16,
        augmentation: { enabled: false },
      },
      data: { train: [train], validation },
      seed: 2,
    });
    expect(res.history).toHaveLength(2);
    expect(res.history.every((h) => h.validation !== null && Number.isFinite(h.validation.mean))).toBe(true);
    expect(res.history.every((h) => Number.isFinite(h.meanLoss))).toBe(true);
    res.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(
      trainSegmenter({
        config: {
          unet: { inChannels: 4, numClasses: 4, widths: [4, 8, 16], deepSupervisionHeads: 2, inputSize: [32, 32] },
          patchSize: 10,
        },
        data: { train: [train], validation },
        seed: 2,
      }),
    ).rejects.toThrow(/patchSize 10 must be a positive multiple of 4/);
  });
});
