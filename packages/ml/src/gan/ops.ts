// Network primitives for the GANs, written so that the discriminator's graph has CORRECT second-order
// gradients on tfjs (the WGAN-GP penalty differentiates D's input gradient w.r.t. D's weights). Per
// shared/notes/tfjs-facts.md: tf.leakyRelu / tf.avgPool have no second-order kernels, and tanh / sigmoid /
// exp / maxPool give silently wrong ones, so they are re-expressed here with ops whose gradients are
// differentiable (relu, mul, reshape, mean, conv2d). leakyRelu / avgPool / pixelNorm come from layers/;
// upsample (layers/ uses resizeNearestNeighbor, first-order only) and the GROUPED minibatch stddev of the
// PGAN paper (layers/ pools the whole batch) are here.
import { avgPool2x2, leakyRelu, pixelNorm } from "../layers/ops.js";
import type { ParamStore } from "../layers/param-store.js";
import { tf } from "./tf.js";

/** leakyRelu(x, 0.2) as 0.2x + 0.8 relu(x) (layers/): same values, differentiable gradient. */
export const lrelu = leakyRelu;

/** 2x2 average pool as reshape + mean (layers/; tf.avgPool's gradient is not differentiable on tfjs). */
export const downsample2x = avgPool2x2;

/** Nearest-neighbour 2x upsampling as a broadcast multiply (differentiable to any order). NHWC. */
export function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return x
    .reshape([n, h, 1, w, 1, c])
    .mul(tf.ones([1, 1, 2, 1, 2, 1]))
    .reshape([n, h * 2, w * 2, c]) as tf.Tensor4D;
}

export { pixelNorm };

/**
 * Minibatch standard deviation (PGAN): one extra feature map holding the average over features and pixels
 * of the per-group standard deviation. Uses only mean/sub/square/sqrt/mul, all second-order safe.
 */
export function minibatchStdDev(x: tf.Tensor4D, groupSize: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const g = largestDivisorAtMost(n, groupSize);
  const m = n / g;
  const grouped = x.reshape([g, m, h, w, c]);
  const centred = grouped.sub(grouped.mean(0, true));
  const std = centred.square().mean(0).add(1e-8).sqrt(); // [m, h, w, c]
  const avg = std.mean([1, 2, 3]).reshape([1, m, 1, 1, 1]);
  const map = avg.mul(tf.ones([g, 1, h, w, 1])).reshape([n, h, w, 1]);
  return tf.concat([x, map], 3) as tf.Tensor4D;
}

function largestDivisorAtMost(n: number, k: number): number {
  for (let g = Math.min(n, k); g > 1; g--) if (n % g === 0) return g;
  return 1;
}

/** He constant for equalized learning rate: weights are stored N(0,1) and scaled at run time. */
export function heScale(fanIn: number, gain = Math.SQRT2): number {
  return gain / Math.sqrt(fanIn);
}

/** Defines an equalized-LR conv (k x k, 'same') in `p` and returns its apply function. */
export function defineConv(p: ParamStore, name: string, k: number, cin: number, cout: number, gain = Math.SQRT2) {
  const w = p.add(`${name}/w`, [k, k, cin, cout], { kind: "normal", std: 1 });
  const b = p.add(`${name}/b`, [cout], { kind: "zeros" });
  const scale = heScale(k * k * cin, gain);
  return (x: tf.Tensor4D): tf.Tensor4D => tf.conv2d(x, w.mul(scale) as tf.Tensor4D, 1, "same").add(b) as tf.Tensor4D;
}

/** Defines an equalized-LR dense layer (matMul + bias). */
export function defineDense(p: ParamStore, name: string, cin: number, cout: number, gain = Math.SQRT2) {
  const w = p.add(`${name}/w`, [cin, cout], { kind: "normal", std: 1 });
  const b = p.add(`${name}/b`, [cout], { kind: "zeros" });
  const scale = heScale(cin, gain);
  return (x: tf.Tensor2D): tf.Tensor2D => tf.matMul(x, w.mul(scale) as tf.Tensor2D).add(b) as tf.Tensor2D;
}

/** Linear interpolation a + (b - a) t with a scalar t. */
export function lerp<T extends tf.Tensor>(a: T, b: T, t: number): T {
  return a.add(b.sub(a).mul(t)) as T;
}
