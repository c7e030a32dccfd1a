// Instance norm + LeakyReLU for the U-Net's conv blocks, picked per backend for speed. The U-Net needs only
// first-order gradients, so unlike layers/instanceNorm (kept second-order-safe for the GAN) it may use fused
// kernels and tf.leakyRelu. Measured at 32x32, batch 8, widths [8,16,32,64] (see unet-phantom.test.ts notes):
// on cpu the stock broadcasting kernels of the op-by-op norm took ~90 % of a training step, and on wasm the
// ~2,300 kernel launches per step (most of them from the norm) cost more than the convolutions.
import { tf } from "../backend/tf.js";
import { INSTANCE_NORM_KERNEL, instanceNormLeakyRelu } from "../native/norm.js";

const EPS = 1e-5;

/** True when the native fused kernel will run (cpu backend with registerNativeKernels() in effect). */
export function fusedNormAvailable(): boolean {
  return tf.getBackend() === "cpu" && tf.getKernel(INSTANCE_NORM_KERNEL, "cpu") != null;
}

/**
 * Per-sample, per-channel moments over H and W as batched matrix products with a ones row: one BatchMatMul
 * instead of the transpose + reduce that tf.mean over axes [1, 2] costs on the cpu and wasm backends.
 */
function spatialMean(x3: tf.Tensor3D, ones: tf.Tensor3D, hw: number): tf.Tensor3D {
  return tf.mul(tf.matMul(ones, x3), 1 / hw) as tf.Tensor3D; // [B,1,C]
}

/** leakyRelu(gamma * (x - mean_hw) / sqrt(var_hw + eps) + beta, slope), x NHWC. */
export function instanceNormLeakyReluFast(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  slope: number,
): tf.Tensor4D {
  if (x.dtype === "float32" && fusedNormAvailable())
    return instanceNormLeakyRelu(x, gamma, beta, { eps: EPS, alpha: slope });
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const hw = h * w;
    const x3 = tf.reshape(x, [b, hw, c]) as tf.Tensor3D;
    const ones = tf.ones([b, 1, hw]) as tf.Tensor3D;
    const centered = tf.sub(x3, spatialMean(x3, ones, hw));
    const variance = spatialMean(tf.square(centered) as tf.Tensor3D, ones, hw);
    // gamma folded into the per-(sample, channel) scale: one full-size multiply instead of two.
    const scale = tf.mul(tf.rsqrt(tf.add(variance, EPS)), gamma);
    const y = tf.add(tf.mul(centered, scale), beta);
    return tf.reshape(tf.leakyRelu(y, slope), [b, h, w, c]) as tf.Tensor4D;
  });
}
