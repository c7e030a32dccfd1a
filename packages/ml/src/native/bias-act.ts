// Bias add + LeakyReLU fused into one native cpu kernel (forward, and first-order gradient for x and the bias).
// The second-order-safe composition in layers/ops (add, mul, relu, mul, add; gradients through Step and Multiply)
// took ~40 % of a bench-gan step on cpu, more than its convolutions' share. No second-order gradients: networks under a
// gradient penalty keep layers' leakyRelu.
import * as tf from "@tensorflow/tfjs-core";
import { biasLeakyReluWebGpu } from "../kernels/webgpu/bias-leaky.js";
import type { NativeAddon } from "./addon.js";
import { takeFloat32 } from "./buffer-pool.js";
import type { CpuBackendLike } from "./kernel-types.js";

export const BIAS_LEAKY_KERNEL = "SynthmriBiasLeaky";
export const BIAS_LEAKY_GRAD_KERNEL = "SynthmriBiasLeakyGrad";

function values(backend: CpuBackendLike, t: tf.TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  if (!(v instanceof Float32Array)) throw new TypeError(`${BIAS_LEAKY_KERNEL}: inputs must be float32`);
  return v;
}

/** Kernel configs for the cpu backend; registered by registerNativeKernels(). */
export function makeBiasActKernels(addon: NativeAddon): tf.KernelConfig[] {
  return [
    {
      kernelName: BIAS_LEAKY_KERNEL,
      backendName: "cpu",
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as unknown as CpuBackendLike;
        const { x, bias } = inputs as Record<string, tf.TensorInfo>;
        const xv = values(b, x);
        const y = takeFloat32(b, xv.length);
        addon.biasLeaky(xv, values(b, bias), y, Float32Array.of(attrs?.alpha as number));
        return b.makeTensorInfo([...x.shape], "float32", y);
      },
    },
    {
      kernelName: BIAS_LEAKY_GRAD_KERNEL,
      backendName: "cpu",
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as unknown as CpuBackendLike;
        const { y, dy } = inputs as Record<string, tf.TensorInfo>;
        const c = y.shape[y.shape.length - 1];
        const dx = takeFloat32(b, values(b, y).length);
        const db = takeFloat32(b, c);
        addon.biasLeakyGrad(values(b, y), values(b, dy), dx, db, Float32Array.of(attrs?.alpha as number));
        return [b.makeTensorInfo([...y.shape], "float32", dx), b.makeTensorInfo([c], "float32", db)];
      },
    },
  ];
}

/** leakyRelu(x + bias, alpha) with stock ops (any backend). */
export function biasLeakyReluReference<T extends tf.Tensor>(x: T, bias: tf.Tensor1D, alpha: number): T {
  return tf.tidy(() => tf.leakyRelu(tf.add(x, bias), alpha) as T);
}

/**
 * leakyRelu(x + bias, alpha), bias over the last axis, alpha in (0, 1]. One native kernel each way on cpu with
 * registerNativeKernels() in effect, one fused webgpu kernel each way on webgpu (kernels/webgpu/bias-leaky.ts), else
 * biasLeakyReluReference. First-order gradients only.
 */
export function biasLeakyRelu<T extends tf.Tensor>(x: T, bias: tf.Tensor1D, alpha: number): T {
  const gpu = biasLeakyReluWebGpu(x, bias, alpha);
  if (gpu) return gpu;
  const native =
    tf.getBackend() === "cpu" &&
    tf.getKernel(BIAS_LEAKY_KERNEL, "cpu") != null &&
    x.dtype === "float32" &&
    bias.dtype === "float32" &&
    x.rank >= 1 &&
    bias.size === x.shape[x.rank - 1] &&
    alpha > 0;
  if (!native) return biasLeakyReluReference(x, bias, alpha);
  const attrs = { alpha };
  const f = tf.customGrad((xi, b, save) => {
    const value = tf.engine().runKernel(BIAS_LEAKY_KERNEL, { x: xi as tf.Tensor, bias: b as tf.Tensor }, attrs) as T;
    // The gradient needs only the sign of the output (alpha > 0 keeps it the sign of x + bias).
    (save as tf.GradSaveFunc)([value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(BIAS_LEAKY_GRAD_KERNEL, { y: saved[0], dy }, attrs) as tf.Tensor[],
    };
  });
  return f(x, bias) as T;
}
