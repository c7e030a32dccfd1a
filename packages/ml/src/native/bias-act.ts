// Bias add + LeakyReLU (and bias add + tanh, a generator's output layer) fused into one native cpu kernel each way
// (forward, and first-order gradient for x and the bias). The second-order-safe composition in layers/ops (add, mul,
// relu, mul, add; gradients through Step and Multiply) took ~40 % of a bench-gan step on cpu, more than its
// convolutions' share; tanh ran as the JS Math.tanh loop on the calling thread and its gradient as three ops plus the
// bias's Sum (issue 18). No second-order gradients: networks under a gradient penalty keep layers' leakyRelu.
import * as tf from "@tensorflow/tfjs-core";
import { biasLeakyReluWebGpu } from "../kernels/webgpu/bias-leaky.js";
import type { NativeAddon } from "./addon.js";
import { takeFloat32 } from "./buffer-pool.js";
import type { CpuBackendLike } from "./kernel-types.js";

export const BIAS_LEAKY_KERNEL = "SynthmriBiasLeaky";
export const BIAS_LEAKY_GRAD_KERNEL = "SynthmriBiasLeakyGrad";
export const BIAS_LEAKY_POOL_KERNEL = "SynthmriBiasLeakyPool";
export const BIAS_LEAKY_POOL_GRAD_KERNEL = "SynthmriBiasLeakyPoolGrad";
export const BIAS_TANH_KERNEL = "SynthmriBiasTanh";
export const BIAS_TANH_GRAD_KERNEL = "SynthmriBiasTanhGrad";

function values(backend: CpuBackendLike, t: tf.TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  if (!(v instanceof Float32Array)) throw new TypeError(`${BIAS_LEAKY_KERNEL}: inputs must be float32`);
  return v;
}

/** Kernel configs for the cpu backend; registered by registerNativeKernels(). */
export function makeBiasActKernels(addon: NativeAddon): tf.KernelConfig[] {
  const { biasTanh, biasTanhGrad } = addon;
  const tanh: tf.KernelConfig[] =
    biasTanh == null || biasTanhGrad == null
      ? [] // an addon built before they existed: biasTanh runs its op pair
      : [
          {
            kernelName: BIAS_TANH_KERNEL,
            backendName: "cpu",
            kernelFunc: ({ inputs, backend }) => {
              const b = backend as unknown as CpuBackendLike;
              const { x, bias } = inputs as Record<string, tf.TensorInfo>;
              const xv = values(b, x);
              const y = takeFloat32(b, xv.length);
              biasTanh(xv, values(b, bias), y);
              return b.makeTensorInfo([...x.shape], "float32", y);
            },
          },
          {
            kernelName: BIAS_TANH_GRAD_KERNEL,
            backendName: "cpu",
            kernelFunc: ({ inputs, backend }) => {
              const b = backend as unknown as CpuBackendLike;
              const { y, dy } = inputs as Record<string, tf.TensorInfo>;
              const c = y.shape[y.shape.length - 1];
              const dx = takeFloat32(b, values(b, y).length);
              const db = takeFloat32(b, c);
              biasTanhGrad(values(b, y), values(b, dy), dx, db);
              return [b.makeTensorInfo([...y.shape], "float32", dx), b.makeTensorInfo([c], "float32", db)];
            },
          },
        ];
  const { biasLeakyPool, biasLeakyPoolGrad } = addon;
  const pooled: tf.KernelConfig[] =
    biasLeakyPool == null || biasLeakyPoolGrad == null
      ? []
      : [
          {
            kernelName: BIAS_LEAKY_POOL_KERNEL,
            backendName: "cpu",
            kernelFunc: ({ inputs, backend, attrs }) => {
              const b = backend as unknown as CpuBackendLike;
              const { x, bias } = inputs as Record<string, tf.TensorInfo>;
              const [n, h, w, c] = x.shape;
              const shape = [n, h / 2, w / 2, c];
              const y = takeFloat32(b, tf.util.sizeFromShape(shape));
              biasLeakyPool(values(b, x), values(b, bias), y, Int32Array.from(shape), attrs?.alpha as number);
              return b.makeTensorInfo(shape, "float32", y);
            },
          },
          {
            kernelName: BIAS_LEAKY_POOL_GRAD_KERNEL,
            backendName: "cpu",
            kernelFunc: ({ inputs, backend, attrs }) => {
              const b = backend as unknown as CpuBackendLike;
              const { x, bias, dy } = inputs as Record<string, tf.TensorInfo>;
              const xv = values(b, x);
              const c = x.shape[3];
              const dx = takeFloat32(b, xv.length);
              const db = takeFloat32(b, c);
              const shape = Int32Array.from(dy.shape);
              biasLeakyPoolGrad(xv, values(b, bias), values(b, dy), dx, db, shape, attrs?.alpha as number);
              return [b.makeTensorInfo([...x.shape], "float32", dx), b.makeTensorInfo([c], "float32", db)];
            },
          },
        ];
  return [
    ...tanh,
    ...pooled,
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

/** `kernel` on (x, bias) with `grad` on (its output, dy) as the gradient, on the cpu backend's native kernels; null
 * when they are not registered or do not take these inputs (the caller runs its op graph). */
function nativeBiasActivation<T extends tf.Tensor>(
  kernel: string,
  grad: string,
  x: T,
  bias: tf.Tensor1D,
  attrs: tf.NamedAttrMap,
): T | null {
  const native =
    tf.getBackend() === "cpu" &&
    tf.getKernel(kernel, "cpu") != null &&
    x.dtype === "float32" &&
    bias.dtype === "float32" &&
    x.rank >= 1 &&
    bias.size === x.shape[x.rank - 1] &&
    bias.size > 0;
  if (!native) return null;
  const f = tf.customGrad((xi, b, save) => {
    const value = tf.engine().runKernel(kernel, { x: xi as tf.Tensor, bias: b as tf.Tensor }, attrs) as T;
    // Both gradients need only the output: leaky's sign (alpha > 0 keeps it the sign of x + bias), tanh' = 1 - y^2.
    (save as tf.GradSaveFunc)([value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(grad, { y: saved[0], dy }, attrs) as tf.Tensor[],
    };
  });
  return f(x, bias) as T;
}

/**
 * leakyRelu(x + bias, alpha), bias over the last axis, alpha in (0, 1]. One native kernel each way on cpu with
 * registerNativeKernels() in effect, one fused webgpu kernel each way on webgpu (kernels/webgpu/bias-leaky.ts), else
 * biasLeakyReluReference. First-order gradients only.
 */
export function biasLeakyRelu<T extends tf.Tensor>(x: T, bias: tf.Tensor1D, alpha: number): T {
  const gpu = biasLeakyReluWebGpu(x, bias, alpha);
  if (gpu) return gpu;
  const native = alpha > 0 ? nativeBiasActivation(BIAS_LEAKY_KERNEL, BIAS_LEAKY_GRAD_KERNEL, x, bias, { alpha }) : null;
  return native ?? biasLeakyReluReference(x, bias, alpha);
}

/**
 * tanh(x + bias), bias over the last axis, on the cpu backend's native kernels (one each way, first-order gradients
 * only); null when they are not in use, so the caller runs its op pair (layers/ops biasTanh).
 */
export function biasTanhNative<T extends tf.Tensor>(x: T, bias: tf.Tensor1D): T | null {
  return nativeBiasActivation(BIAS_TANH_KERNEL, BIAS_TANH_GRAD_KERNEL, x, bias, {});
}

/**
 * avgPool2x2(leakyRelu(x + bias, alpha)), x [B,H,W,C] with H, W even, alpha in (0, 1], on the cpu backend's native
 * kernels: one pass over x each way instead of the full-size activation written, pooled, spread back and masked
 * (issue 18). First-order gradients only; equal to the unfused native kernels bit for bit. Null when not in use.
 */
export function biasLeakyReluPool2x2Native(x: tf.Tensor4D, bias: tf.Tensor1D, alpha: number): tf.Tensor4D | null {
  if (tf.getBackend() !== "cpu" || tf.getKernel(BIAS_LEAKY_POOL_KERNEL, "cpu") == null) return null;
  if (x.rank !== 4 || x.dtype !== "float32" || bias.dtype !== "float32" || !(alpha > 0)) return null;
  const [, H, W, C] = x.shape;
  if (H % 2 !== 0 || W % 2 !== 0 || x.size === 0 || bias.size !== C) return null;
  const attrs = { alpha };
  const f = tf.customGrad((xi, b, save) => {
    const value = tf.engine().runKernel(BIAS_LEAKY_POOL_KERNEL, { x: xi as tf.Tensor, bias: b as tf.Tensor }, attrs);
    // The mask needs x + bias: the conv output the tape keeps anyway, not a full-size activation.
    (save as tf.GradSaveFunc)([xi as tf.Tensor, b as tf.Tensor]);
    return {
      value: value as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(BIAS_LEAKY_POOL_GRAD_KERNEL, { x: saved[0], bias: saved[1], dy }, attrs) as tf.Tensor[],
    };
  });
  return f(x, bias) as tf.Tensor4D;
}
