// Learning check on the phantom cohort (issue 6): a small U-Net trained on phantom subjects must segment most
// of the whole tumour of held-out subjects (split by subject). Dice is pooled over all held-out slices (voxel counts
// summed, then 2TP / (|P| + |G|)), the same number validateSegmenter reports during training.
// Recipe for a short run (see SHORT_RUN_SEG_TRAIN): nnU-Net's foreground oversampling (3 of 8 samples contain
// tumour) and SGD Nesterov with momentum 0.9 (0.99 needs hundreds of iterations before it moves).
import { generatePhantomSubject, type PhantomSubject, sliceSubject } from "@synthmri/volume";
import { beforeAll, describe, expect, it } from "vitest";
import {
  arraySegSource,
  holdOut,
  initBackend,
  type SegSample,
  SHORT_RUN_SEG_TRAIN,
  tf,
  trainSegmenter,
  validateSegmenter,
} from "../src/index.js";

const SIZE: [number, number, number] = [32, 32, 21];
const SUBJECTS = 16;
const MASK_TO_LABEL: Record<number, number> = { 0: 0, 51: 1, 102: 2, 204: 3 };

function slicesOf(p: PhantomSubject): { samples: SegSample[]; bytes: Uint8Array } {
  const seg = Uint8Array.from(p.seg, (v) => (v === 4 ? 3 : v));
  const { batch } = sliceSubject(p.id, { shape: p.shape, t1: p.t1, t1ce: p.t1ce, t2: p.t2, flair: p.flair, seg });
  const hw = batch.height * batch.width;
  const samples: SegSample[] = [];
  for (let k = 0; k < batch.count; k++) {
    const image = new Float32Array(hw * 4);
    const label = new Uint8Array(hw);
    for (let i = 0; i < hw; i++) {
      const o = (k * hw + i) * 5;
      for (let c = 0; c < 4; c++) image[i * 4 + c] = batch.data[o + c];
      label[i] = MASK_TO_LABEL[batch.data[o + 4]];
    }
    samples.push({ height: batch.height, width: batch.width, channels: 4, image, label });
  }
  return { samples, bytes: batch.data };
}

beforeAll(async () => {
  await initBackend();
});

describe("U-Net on the phantom cohort", () => {
  it("phantom generation and slicing are a pure function of the seed", () => {
    const a = slicesOf(generatePhantomSubject(3, { size: SIZE, seed: 7 }));
    const b = slicesOf(generatePhantomSubject(3, { size: SIZE, seed: 7 }));
    expect(b.samples.length).toBe(a.samples.length);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
  });

  // The phantoms are calibrated to be BraTS-hard (issue 16: tumour look-alikes such as white-matter lesions; the
  // demo's real-only U-Net at 32x32 reaches WT 0.66-0.70, bench/src/demo-calibration.ts measures it); this smaller
  // net on 32x32x21 phantoms measured WT 0.49 after 8 x 25 iterations and 0.58 after 24 x 25 (an untrained net
  // scores ~0), so the learning check trains 24 epochs and asks for more than half of the whole tumour.
  it("reaches whole-tumour Dice > 0.5 on held-out subjects", async () => {
    const samples: SegSample[] = [];
    const subjectOf: string[] = [];
    for (let s = 0; s < SUBJECTS; s++) {
      const p = generatePhantomSubject(s, { size: SIZE, seed: 7 });
      for (const sample of slicesOf(p).samples) {
        samples.push(sample);
        subjectOf.push(p.id);
      }
    }
    const { train, validation } = holdOut(
      arraySegSource(samples, (i) => subjectOf[i]),
      0.25,
      0,
    );
    const heldOut = new Set(Array.from({ length: validation.length }, (_, i) => validation.groupOf!(i)));
    const trained = new Set(Array.from({ length: train.length }, (_, i) => train.groupOf!(i)));
    expect([...heldOut].some((s) => trained.has(s))).toBe(false);

    const before = tf.memory().numTensors;
    const started = Date.now();
    const cpuBefore = process.cpuUsage();
    const result = await trainSegmenter({
      config: {
        ...SHORT_RUN_SEG_TRAIN,
        unet: { widths: [8, 16, 32, 64], deepSupervisionHeads: 3 },
        epochs: 24,
        iterationsPerEpoch: 25,
        augmentation: { enabled: false },
      },
      // No validation during training: the held-out subjects are only seen by the final check below, so no
      // model selection leaks into the reported Dice (without validation data the last weights are returned).
      data: { train: [train], validation: arraySegSource([]) },
      seed: 0,
    });
    const seconds = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const dice = await validateSegmenter(result.model, validation, { batchSize: 32 });
    result.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    console.log(
      `phantom U-Net: ${train.length} train / ${validation.length} held-out slices, held-out WT Dice ${dice?.wt.toFixed(3)} (ED ${dice?.ed.toFixed(3)}, ET ${dice?.et.toFixed(3)}, NCR ${dice?.ncr.toFixed(3)}), ${seconds.toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`,
    );
    expect(dice?.wt).toBeGreaterThan(0.5);
  }, 600_000);
});
