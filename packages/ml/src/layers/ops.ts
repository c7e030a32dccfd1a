// Functional layer ops, NHWC. Every op here is safe under second-order autodiff (nested tf.grad inside
// tf.variableGrads: WGAN-GP / R1) unless its comment says otherwise; see shared/notes/tfjs-facts.md.
import { tf } from "../backend/tf.js";
import { biasTanhWebGpu } from "../kernels/webgpu/bias-leaky.js";
import { convTranspose2x2WebGpu } from "../kernels/webgpu/conv-transpose.js";
import { avgPool2x2WebGpu } from "../kernels/webgpu/pool.js";
import { biasTanhNative } from "../native/bias-act.js";
import { convTranspose2x2Native } from "../native/conv-transpose.js";
import { nativeKernelsActive } from "../native/index.js";
import { avgPool2x2Native } from "../native/pool2x2.js";

export type Padding = "same" | "valid" | number;

function padArg(pad: Padding): "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]] {
  return typeof pad === "number"
    ? [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ]
    : pad;
}

/** 2-D convolution, x [B,H,W,Cin], w [kh,kw,Cin,Cout], optional bias [Cout]. A numeric pad pads every side. */
export function conv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | null,
  stride = 1,
  pad: Padding = "same",
): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.conv2d(x, w, stride, padArg(pad));
    return b ? (tf.add(y, b) as tf.Tensor4D) : y;
  });
}

/**
 * conv2d + bias for nets trained with first-order gradients only (the U-Net): on cpu with the native kernels one
 * FusedConv2D (tf.fused.conv2d, its gradient a customGrad: not second-order differentiable) adds the bias in the conv's
 * epilogue on the worker pool, the same float32 addition as conv2d's Add without a separate pass over the output and
 * its tape entry; elsewhere conv2d. Its gradient always computes the input gradient: for a net's data input, where
 * training needs none, conv2d skips that backprop (a full-resolution conv on the U-Net's first layer).
 */
export function conv2dFirstOrder(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | null,
  stride = 1,
  pad: Padding = "same",
): tf.Tensor4D {
  if (b != null && x.dtype === "float32" && tf.getBackend() === "cpu" && nativeKernelsActive())
    return tf.fused.conv2d({ x, filter: w, strides: stride, pad: padArg(pad), bias: b });
  return conv2d(x, w, b, stride, pad);
}

/**
 * Transposed conv 2x2 stride 2 (doubles H and W). w has tfjs' conv2dTranspose layout [2,2,Cout,Cin].
 * Computed as one matMul plus a pixel shuffle: its gradients are matMul/transpose, fast on every backend.
 * On webgpu (with a bias): one fused kernel, first-order gradients only (kernels/webgpu/conv-transpose.ts); on cpu
 * with the native kernels (with a bias): one kernel each way, same bits as the graph, first order only
 * (native/conv-transpose.ts).
 */
export function convTranspose2x2(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null): tf.Tensor4D {
  const fused = convTranspose2x2WebGpu(x, w, b) ?? (b ? convTranspose2x2Native(x, w, b) : null);
  if (fused) return fused;
  return tf.tidy(() => {
    const [B, H, W, cin] = x.shape;
    const cout = w.shape[2];
    const wm = tf.reshape(tf.transpose(w, [3, 0, 1, 2]), [cin, 4 * cout]) as tf.Tensor2D; // [Cin, (ky,kx,Cout)]
    const y = tf.matMul(tf.reshape(x, [B * H * W, cin]) as tf.Tensor2D, wm); // [BHW, 2*2*Cout]
    const shuffled = tf.transpose(tf.reshape(y, [B, H, W, 2, 2, cout]), [0, 1, 3, 2, 4, 5]);
    const out = tf.reshape(shuffled, [B, 2 * H, 2 * W, cout]) as tf.Tensor4D;
    return b ? (tf.add(out, b) as tf.Tensor4D) : out;
  });
}

/**
 * tanh(x + b), b over the last axis: one fused kernel each way on webgpu and on cpu with the native kernels
 * (first-order gradients only there: a generator's output layer, never under a gradient penalty), else the two ops.
 */
export function biasTanh<T extends tf.Tensor>(x: T, b: tf.Tensor1D): T {
  return biasTanhWebGpu(x, b) ?? biasTanhNative(x, b) ?? tf.tidy(() => tf.tanh(tf.add(x, b)) as T);
}

/** x [B,In] @ w [In,Out] + b [Out]. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | null): tf.Tensor2D {
  return tf.tidy(() => {
    const y: tf.Tensor2D = tf.matMul(x, w);
    return b ? (tf.add(y, b) as tf.Tensor2D) : y;
  });
}

/** Instance norm over H,W per sample and channel (biased variance), affine gamma/beta [C]. */
export function instanceNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D | null,
  beta: tf.Tensor1D | null,
  eps = 1e-5,
): tf.Tensor4D {
  return tf.tidy(() => {
    const mean = tf.mean(x, [1, 2], true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), [1, 2], true);
    // div by sqrt (not mul by rsqrt): both have second-order gradients that pass finite differences.
    let y: tf.Tensor4D = tf.div(centered, tf.sqrt(tf.add(variance, eps)));
    if (gamma) y = tf.mul(y, gamma);
    if (beta) y = tf.add(y, beta);
    return y;
  });
}

/** LeakyReLU as a*x + (1-a)*relu(x): tf.leakyRelu has no second-order gradient in tfjs. */
export function leakyRelu<T extends tf.Tensor>(x: T, a = 0.2): T {
  return tf.tidy(() => tf.add(tf.mul(x, a), tf.mul(tf.relu(x), 1 - a)) as T);
}

/** 2x2 stride-2 average pooling as reshape + mean (tf.avgPool has no second-order gradient). H, W even. */
export function avgPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  // webgpu and native cpu: one kernel each way, still differentiable to any order (kernels/webgpu/pool.ts,
  // native/pool2x2.ts).
  const fused = avgPool2x2WebGpu(x) ?? avgPool2x2Native(x);
  if (fused) return fused;
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    return tf.mean(tf.reshape(x, [B, H / 2, 2, W / 2, 2, C]), [2, 4]) as tf.Tensor4D;
  });
}

/**
 * Nearest-neighbour x2 upsampling (each pixel to a 2x2 block). Uses the backend's resize kernel, whose
 * backward is registered on cpu and wasm; it has no second-order gradient, so keep it out of a
 * discriminator's gradient-penalty path (generators do not need one).
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [, H, W] = x.shape;
  return tf.image.resizeNearestNeighbor(x, [2 * H, 2 * W], false, false);
}

/** ProGAN pixel norm: x / sqrt(mean over channels of x^2 + eps). */
export function pixelNorm(x: tf.Tensor4D | tf.Tensor2D, eps = 1e-8): tf.Tensor {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))));
}

/**
 * Minibatch standard deviation (ProGAN): the std of each feature over the batch, averaged to one
 * scalar, appended as an extra constant channel. x [B,H,W,C] -> [B,H,W,C+1].
 */
export function minibatchStdDev(x: tf.Tensor4D, eps = 1e-8): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W] = x.shape;
    const mean = tf.mean(x, 0, true);
    const std = tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(x, mean)), 0), eps));
    const s = tf.mean(std); // scalar
    const channel = tf.mul(tf.ones([B, H, W, 1]), s);
    return tf.concat([x, channel], 3) as tf.Tensor4D;
  });
}

/** He constant for equalized learning rate: gain / sqrt(fanIn), fanIn = product of all but the last dim. */
export function heConstant(shape: number[], gain = Math.SQRT2): number {
  const fanIn = shape.length <= 1 ? shape[0] || 1 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return gain / Math.sqrt(fanIn);
}

/**
 * Equalized learning rate: weights are stored N(0,1) and scaled at run time by the He constant, so
 * Adam sees every layer at the same scale. For conv2dTranspose layout [kh,kw,Cout,Cin] pass fanIn.
 */
export function equalized<T extends tf.Tensor>(w: T, gain = Math.SQRT2, fanIn?: number): T {
  const c = fanIn === undefined ? heConstant(w.shape, gain) : gain / Math.sqrt(fanIn);
  return tf.mul(w, c) as T;
}
