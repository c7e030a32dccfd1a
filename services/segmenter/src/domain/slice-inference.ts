// SegmentSlices' logic: a batch of 4-channel slices (uint8 0-255 as stored in datasets, or float32) in,
// label maps out. Slices of another side than the net's are resized to it (bilinear; labels back by
// nearest), as the dataset slices were resized for training; the z-score per slice matches training.
import { resizeBilinear, resizeNearest, segmentSlices } from "@synthmri/ml";
import { InvalidInput } from "@synthmri/platform";
import { type OutputScheme, toScheme } from "./labels.js";
import type { LoadedModel } from "./model-registry.js";

export interface SliceInput {
  data: Uint8Array | Float32Array;
  shape: number[];
}

export interface SliceOptions {
  tta: boolean;
  probabilities: boolean;
  normalized: boolean;
  scheme: OutputScheme;
  batchSize?: number;
}

export interface SliceOutput {
  labels: Uint8Array;
  shape: [number, number, number];
  probabilities?: Float32Array;
}

export async function segmentSliceBatch(model: LoadedModel, input: SliceInput, o: SliceOptions): Promise<SliceOutput> {
  if (input.shape.length !== 4)
    throw new InvalidInput(`slice batch shape [${input.shape.join(", ")}] must be [n, h, w, 4]`);
  const [n, h, w, c] = input.shape;
  if (c !== 4) throw new InvalidInput(`slices have ${c} channels; send 4 (T1, T1CE, T2, FLAIR), mask excluded`);
  if (!(n > 0 && h > 0 && w > 0)) throw new InvalidInput(`slice batch shape [${input.shape.join(", ")}] is empty`);
  const side = model.manifest.model.preprocessing.inputSize;
  const resize = h !== side || w !== side;
  const per = h * w * 4;
  const x = new Float32Array(n * side * side * 4);
  for (let i = 0; i < n; i++) {
    const img = Float32Array.from(input.data.subarray(i * per, (i + 1) * per));
    x.set(resize ? resizeBilinear(img, h, w, 4, side, side) : img, i * side * side * 4);
  }
  const r = await segmentSlices(
    model.net,
    { data: x, n, height: side, width: side, channels: 4 },
    {
      batchSize: o.batchSize ?? 16,
      tta: o.tta ? "flip" : "none",
      probabilities: o.probabilities,
      normalize: !o.normalized,
    },
  );
  let labels = r.labels;
  let probabilities = r.probabilities;
  if (resize) {
    labels = new Uint8Array(n * h * w);
    for (let i = 0; i < n; i++) {
      const lab = Float32Array.from(r.labels.subarray(i * side * side, (i + 1) * side * side));
      labels.set(Uint8Array.from(resizeNearest(lab, side, side, 1, h, w)), i * h * w);
    }
    if (r.probabilities) {
      const k = r.numClasses;
      probabilities = new Float32Array(n * h * w * k);
      for (let i = 0; i < n; i++) {
        const pr = r.probabilities.subarray(i * side * side * k, (i + 1) * side * side * k);
        probabilities.set(resizeBilinear(pr, side, side, k, h, w), i * h * w * k);
      }
    }
  }
  return { labels: toScheme(labels, o.scheme), shape: [n, h, w], probabilities };
}
