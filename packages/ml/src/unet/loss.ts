// Deep-supervised nnU-Net loss: per head, cross-entropy + (1 - soft Dice over the foreground classes, "batch
// Dice" summed over batch and space), against the target downsampled by taking every 2^d-th pixel.
import { tf } from "../backend/tf.js";
import { ceDiceLossWebGpu } from "../kernels/webgpu/ce-dice-loss.js";
import { ceDiceLossNative, nativeCeDiceLossAvailable } from "../native/loss.js";
import { deepSupervisionWeights } from "./config.js";

const SMOOTH = 1e-5;

/** Nearest downsampling of B label maps [B,H,W] by 2^d: T[:, ::2^d, ::2^d] (SPEC.md section 1). */
export function downsampleLabels(labels: Uint8Array, b: number, h: number, w: number, d: number): Uint8Array {
  if (d === 0) return labels;
  const s = 2 ** d;
  const oh = Math.ceil(h / s);
  const ow = Math.ceil(w / s);
  const out = new Uint8Array(b * oh * ow);
  for (let n = 0; n < b; n++)
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++) out[(n * oh + y) * ow + x] = labels[(n * h + y * s) * w + x * s];
  return out;
}

/** One-hot targets [B,H/2^d,W/2^d,C] for each head, built once per batch outside the gradient tape. */
export function deepSupervisionTargets(
  labels: Uint8Array,
  b: number,
  h: number,
  w: number,
  heads: number,
  numClasses: number,
): tf.Tensor4D[] {
  return Array.from({ length: heads }, (_, d) =>
    tf.tidy(() => {
      const s = 2 ** d;
      const t = tf.tensor(
        Int32Array.from(downsampleLabels(labels, b, h, w, d)),
        [b, Math.ceil(h / s), Math.ceil(w / s)],
        "int32",
      );
      // oneHot straight to float32 returns int bit patterns on wasm (1 -> 1.4e-45): one-hot as int32, then cast.
      return tf.cast(tf.oneHot(t, numClasses), "float32") as tf.Tensor4D;
    }),
  );
}

/** CE + (1 - mean foreground soft Dice) of one head. logits and oneHot [B,H,W,C]. */
export function ceDiceLoss(logits: tf.Tensor4D, oneHot: tf.Tensor4D): tf.Scalar {
  // One native kernel (loss and gradient) on cpu with the addon; the op graph below is its reference.
  const classes = logits.shape[3];
  if (nativeCeDiceLossAvailable() && logits.dtype === "float32" && classes >= 2 && classes <= 64)
    return tf.tidy(() => ceDiceLossNative(logits, oneHot, SMOOTH));
  // webgpu: two fused dispatches forward, one backward (kernels/webgpu/ce-dice-loss.ts).
  const gpu = ceDiceLossWebGpu(logits, oneHot, SMOOTH);
  if (gpu) return gpu;
  return ceDiceLossReference(logits, oneHot);
}

/** ceDiceLoss with stock ops (any backend). */
export function ceDiceLossReference(logits: tf.Tensor4D, oneHot: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const c = logits.shape[3];
    const logP = tf.logSoftmax(logits, -1);
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logP), -1)));
    const p = tf.exp(logP);
    const fgP = tf.slice(p, [0, 0, 0, 1], [-1, -1, -1, c - 1]);
    const fgG = tf.slice(oneHot, [0, 0, 0, 1], [-1, -1, -1, c - 1]);
    const inter = tf.sum(tf.mul(fgP, fgG), [0, 1, 2]);
    const denom = tf.add(tf.sum(fgP, [0, 1, 2]), tf.sum(fgG, [0, 1, 2]));
    const dice = tf.div(tf.add(tf.mul(inter, 2), SMOOTH), tf.add(denom, SMOOTH));
    return tf.add(ce, tf.sub(1, tf.mean(dice))) as tf.Scalar;
  });
}

/** Σ_d w_d · loss_d with w_d ∝ 0.5^d normalised over the heads given. */
export function deepSupervisionLoss(outputs: tf.Tensor4D[], targets: tf.Tensor4D[]): tf.Scalar {
  const weights = deepSupervisionWeights(outputs.length);
  return tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0);
    outputs.forEach((o, d) => {
      total = tf.add(total, tf.mul(ceDiceLoss(o, targets[d]), weights[d]));
    });
    return total;
  });
}
