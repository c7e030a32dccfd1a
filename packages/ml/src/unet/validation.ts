// Validation Dice during training: Dice per class over the whole validation set (voxel counts summed
// over all slices, then 2TP / (|P| + |G|)), so slices without tumour do not produce 0/0. A class absent
// from both prediction and truth scores 1.
import { tf } from "../backend/tf.js";
import type { SegSample } from "../transforms/types.js";
import { zScoreInPlace } from "../transforms/zscore.js";
import type { SegSliceSource } from "./data.js";
import { predictProbabilities } from "./inference.js";
import type { UNet } from "./model.js";

export interface ValidationDice {
  ncr: number;
  ed: number;
  et: number;
  /** Mean of NCR, ED, ET: the model-selection criterion. */
  mean: number;
  /** Whole tumour (any label > 0). */
  wt: number;
  samples: number;
}

/** Accumulates overlap counts of label maps (classes 1..3 and whole tumour). */
export class DiceCounter {
  private readonly inter = new Float64Array(5);
  private readonly sum = new Float64Array(5);
  samples = 0;

  add(pred: Uint8Array, truth: Uint8Array): void {
    for (let i = 0; i < pred.length; i++) {
      const p = pred[i];
      const t = truth[i];
      if (p) this.sum[p]++;
      if (t) this.sum[t]++;
      if (p && p === t) this.inter[p]++;
      if (p) this.sum[4]++;
      if (t) this.sum[4]++;
      if (p && t) this.inter[4]++;
    }
    this.samples++;
  }

  private dice(c: number): number {
    return this.sum[c] === 0 ? 1 : (2 * this.inter[c]) / this.sum[c];
  }

  result(): ValidationDice {
    const ncr = this.dice(1);
    const ed = this.dice(2);
    const et = this.dice(3);
    return { ncr, ed, et, mean: (ncr + ed + et) / 3, wt: this.dice(4), samples: this.samples };
  }
}

/** Runs the net over (at most `maxSamples` of) the validation source, batch by batch. */
export async function validateSegmenter(
  model: UNet,
  source: SegSliceSource,
  options: { batchSize?: number; maxSamples?: number; signal?: AbortSignal } = {},
): Promise<ValidationDice | null> {
  const count = Math.min(source.length, options.maxSamples ?? source.length);
  if (count === 0) return null;
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const counter = new DiceCounter();
  let pending: SegSample[] = [];
  const run = async () => {
    if (!pending.length) return;
    const { height: h, width: w, channels: c } = pending[0];
    const data = new Float32Array(pending.length * h * w * c);
    pending.forEach((s, i) => {
      data.set(zScoreInPlace(new Float32Array(s.image), h, w, c, s.mask), i * h * w * c);
    });
    const lab = tf.tidy(() => tf.argMax(predictProbabilities(model, tf.tensor4d(data, [pending.length, h, w, c])), -1));
    const labels = Uint8Array.from((await lab.data()) as Int32Array);
    lab.dispose();
    pending.forEach((s, i) => {
      counter.add(labels.subarray(i * h * w, (i + 1) * h * w), s.label);
    });
    pending = [];
  };
  for (let i = 0; i < count; i++) {
    if (options.signal?.aborted) return null;
    const s = await source.get(i);
    if (pending.length && (pending[0].height !== s.height || pending[0].width !== s.width)) await run();
    pending.push(s);
    if (pending.length >= batchSize) await run();
  }
  await run();
  return counter.result();
}
