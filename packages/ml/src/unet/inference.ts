// Inference: batched forward passes over host slices, argmax label maps, optional class probabilities and
// flip test-time augmentation (mean of softmax over mirrored copies, as nnU-Net does).
import { InvalidInput } from "@synthmri/core";
import { tf } from "../backend/tf.js";
import { nonZeroMask } from "../transforms/types.js";
import { zScoreInPlace } from "../transforms/zscore.js";
import { sizeMultiple } from "./config.js";
import type { UNet } from "./model.js";

/** N slices, NHWC float32. */
export interface SliceBatch {
  data: Float32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
}

/** "none"; "flip": identity + left-right mirror; "flip-all": also up-down and both (4 passes). */
export type FlipTta = "none" | "flip" | "flip-all";

export interface SegmentOptions {
  /** Slices per forward pass (default 8). */
  batchSize?: number;
  tta?: FlipTta;
  /** Also return softmax probabilities NHWC (default false). */
  probabilities?: boolean;
  /**
   * Z-score each slice per channel over its brain region, exactly as in training (default true). Pass false
   * only for slices that already went through `zScoreInPlace`.
   */
  normalize?: boolean;
}

export interface SegmentResult {
  n: number;
  height: number;
  width: number;
  numClasses: number;
  /** N*H*W class indices (0 background, 1 NCR, 2 ED, 3 ET). */
  labels: Uint8Array;
  /** N*H*W*numClasses softmax probabilities, when asked for. */
  probabilities?: Float32Array;
}

/** Symmetric zero padding of [B,H,W,C] to (ph, pw) >= (H, W), or the matching centre crop back. */
function padTo(x: tf.Tensor4D, ph: number, pw: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === ph && w === pw) return x;
  const top = Math.floor((ph - h) / 2);
  const left = Math.floor((pw - w) / 2);
  return tf.pad(x, [
    [0, 0],
    [top, ph - h - top],
    [left, pw - w - left],
    [0, 0],
  ]);
}

function cropTo(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  const [, ph, pw] = x.shape;
  if (h === ph && w === pw) return x;
  return tf.slice(x, [0, Math.floor((ph - h) / 2), Math.floor((pw - w) / 2), 0], [-1, h, w, -1]);
}

/** Mean softmax over the TTA mirrors, [B,H,W,C] in and out (H, W divisible by the net's multiple). */
export function predictProbabilities(model: UNet, x: tf.Tensor4D, tta: FlipTta = "none"): tf.Tensor4D {
  return tf.tidy(() => {
    const flips: number[][] = tta === "none" ? [[]] : tta === "flip" ? [[], [2]] : [[], [2], [1], [1, 2]];
    let sum: tf.Tensor4D | null = null;
    for (const axes of flips) {
      const input = axes.length ? tf.reverse(x, axes) : x;
      const p = tf.softmax(model.forward(input, { training: false })[0], -1);
      const back = axes.length ? tf.reverse(p, axes) : p;
      sum = sum ? (tf.add(sum, back) as tf.Tensor4D) : (back as tf.Tensor4D);
    }
    return tf.div(sum!, flips.length) as tf.Tensor4D;
  });
}

export async function segmentSlices(
  model: UNet,
  batch: SliceBatch,
  options: SegmentOptions = {},
): Promise<SegmentResult> {
  const { n, height: h, width: w, channels } = batch;
  const { inChannels, numClasses } = model.config;
  if (channels !== inChannels)
    throw new InvalidInput(`the model expects ${inChannels}-channel slices, got ${channels} channels`);
  if (batch.data.length !== n * h * w * channels)
    throw new InvalidInput(`slice batch has ${batch.data.length} values, expected ${n}x${h}x${w}x${channels}`);
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const m = sizeMultiple(model.config);
  const ph = Math.ceil(h / m) * m;
  const pw = Math.ceil(w / m) * m;
  const labels = new Uint8Array(n * h * w);
  const probabilities = options.probabilities ? new Float32Array(n * h * w * numClasses) : undefined;
  const per = h * w * channels;
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const host = batch.data.slice(start * per, (start + b) * per);
    if (options.normalize ?? true)
      for (let i = 0; i < b; i++) zScoreInPlace(host.subarray(i * per, (i + 1) * per), h, w, channels);
    const [lab, prob] = tf.tidy(() => {
      const x = padTo(tf.tensor4d(host, [b, h, w, channels]), ph, pw);
      const p = cropTo(predictProbabilities(model, x, options.tta ?? "none"), h, w);
      return [tf.argMax(p, -1), probabilities ? p : null] as const;
    });
    labels.set(Uint8Array.from((await lab.data()) as Int32Array), start * h * w);
    lab.dispose();
    if (prob && probabilities) {
      probabilities.set((await prob.data()) as Float32Array, start * h * w * numClasses);
      prob.dispose();
    }
  }
  return { n, height: h, width: w, numClasses, labels, probabilities };
}

export interface VolumeInput {
  /** One volume per input channel (T1, T1Gd, T2, FLAIR), each X*Y*Z float32 with x fastest (NIfTI order). */
  sequences: Float32Array[];
  dims: [number, number, number];
}

export interface SegmentVolumeOptions {
  batchSize?: number;
  tta?: FlipTta;
  /** Called after each batch of slices with (done, total) axial slices. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Segments every axial slice of a volume and returns the label volume (X*Y*Z, x fastest, internal labels
 * 0..3). A slice image has rows = y and columns = x, the layout of the training slices. Slices are centre
 * padded or cropped to the net's `inputSize` (else padded to its size multiple) and z-scored per slice;
 * slices with no brain voxel are background without running the net.
 */
export async function segmentVolume(
  model: UNet,
  input: VolumeInput,
  options: SegmentVolumeOptions = {},
): Promise<Uint8Array> {
  const [X, Y, Z] = input.dims;
  const C = model.config.inChannels;
  if (input.sequences.length !== C)
    throw new InvalidInput(`the model expects ${C} sequences, got ${input.sequences.length}`);
  input.sequences.forEach((s, i) => {
    if (s.length !== X * Y * Z) throw new InvalidInput(`sequence ${i} has ${s.length} voxels, expected ${X}x${Y}x${Z}`);
  });
  const m = sizeMultiple(model.config);
  const [th, tw] = model.config.inputSize ?? [Math.ceil(Y / m) * m, Math.ceil(X / m) * m];
  const out = new Uint8Array(X * Y * Z);
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const todo: number[] = [];
  const slices = new Map<number, Float32Array>();
  const flush = async () => {
    if (!todo.length) return;
    const data = new Float32Array(todo.length * th * tw * C);
    todo.forEach((z, i) => {
      data.set(slices.get(z)!, i * th * tw * C);
    });
    const res = await segmentSlices(
      model,
      { data, n: todo.length, height: th, width: tw, channels: C },
      { tta: options.tta, batchSize },
    );
    todo.forEach((z, i) => {
      copyLabelsBack(res.labels.subarray(i * th * tw, (i + 1) * th * tw), th, tw, out, X, Y, z);
      slices.delete(z);
    });
    todo.length = 0;
  };
  for (let z = 0; z < Z; z++) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error("segmentation cancelled");
    const img = extractSlice(input.sequences, X, Y, z, th, tw);
    if (!nonZeroMask(img, th, tw, C).some((v) => v)) continue;
    zScoreInPlace(img, th, tw, C);
    slices.set(z, img);
    todo.push(z);
    if (todo.length >= batchSize) {
      await flush();
      options.onProgress?.(z + 1, Z);
    }
  }
  await flush();
  options.onProgress?.(Z, Z);
  return out;
}

/** Offset of the centred (th, tw) window relative to (Y, X): positive = padding, negative = cropping. */
function offsets(Y: number, X: number, th: number, tw: number): [number, number] {
  return [Math.floor((th - Y) / 2), Math.floor((tw - X) / 2)];
}

function extractSlice(seqs: Float32Array[], X: number, Y: number, z: number, th: number, tw: number): Float32Array {
  const C = seqs.length;
  const [oy, ox] = offsets(Y, X, th, tw);
  const img = new Float32Array(th * tw * C);
  for (let r = 0; r < th; r++) {
    const y = r - oy;
    if (y < 0 || y >= Y) continue;
    for (let col = 0; col < tw; col++) {
      const x = col - ox;
      if (x < 0 || x >= X) continue;
      const v = x + X * (y + Y * z);
      for (let c = 0; c < C; c++) img[(r * tw + col) * C + c] = seqs[c][v];
    }
  }
  return img;
}

function copyLabelsBack(
  lab: Uint8Array,
  th: number,
  tw: number,
  out: Uint8Array,
  X: number,
  Y: number,
  z: number,
): void {
  const [oy, ox] = offsets(Y, X, th, tw);
  for (let y = 0; y < Y; y++) {
    const r = y + oy;
    if (r < 0 || r >= th) continue;
    for (let x = 0; x < X; x++) {
      const col = x + ox;
      if (col < 0 || col >= tw) continue;
      out[x + X * (y + Y * z)] = lab[r * tw + col];
    }
  }
}
