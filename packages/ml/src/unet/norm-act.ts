// Instance norm + LeakyReLU for the U-Net's conv blocks, picked per backend for speed. The U-Net needs only
// first-order gradients, so unlike layers/instanceNorm (kept second-order-safe for the GAN) it may use fused
// kernels and tf.leakyRelu. Measured at 32x32, batch 8, widths [8,16,32,64]: on cpu (with the native conv
// kernels) the stock broadcasting kernels of the op-by-op norm took ~90 % of a training step; the fused native
// kernel makes the step ~1.8x faster there.
import { tf } from "../backend/tf.js";
import { instanceNormLeakyReluWebGpu } from "../kernels/webgpu/instance-norm.js";
import { instanceNorm, leakyRelu } from "../layers/ops.js";
import { INSTANCE_NORM_KERNEL, instanceNormLeakyRelu } from "../native/norm.js";

const EPS = 1e-5;

/** True when the native fused kernel will run (cpu backend with registerNativeKernels() in effect). */
export function fusedNormAvailable(): boolean {
  return tf.getBackend() === "cpu" && tf.getKernel(INSTANCE_NORM_KERNEL, "cpu") != null;
}

/**
 * leakyRelu(gamma * (x - mean_hw) / sqrt(var_hw + eps) + beta, slope), x NHWC: the native fused kernels when
 * active, else layers' instanceNorm + leakyRelu. On wasm neither tf.moments + tf.leakyRelu nor a batched-matMul
 * formulation of the moments measured faster than that composition (within noise, under load).
 */
export function instanceNormLeakyReluFast(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  slope: number,
): tf.Tensor4D {
  if (x.dtype === "float32" && fusedNormAvailable())
    return instanceNormLeakyRelu(x, gamma, beta, { eps: EPS, alpha: slope });
  // webgpu: one fused dispatch forward, two backward (kernels/webgpu/instance-norm.ts).
  const gpu = instanceNormLeakyReluWebGpu(x, gamma, beta, EPS, slope);
  if (gpu) return gpu;
  return tf.tidy(() => leakyRelu(instanceNorm(x, gamma, beta, EPS), slope));
}
