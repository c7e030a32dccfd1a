// 2x2 average pooling on the cpu backend as two native kernels that are each other's adjoint, differentiable to any
// order (the design of kernels/webgpu/pool.ts):
//   pool(x; s)[b,i,j,c] = s * (x[b,2i,2j,c] + x[b,2i,2j+1,c] + x[b,2i+1,2j,c] + x[b,2i+1,2j+1,c])
//   spread(g; s)[b,y,x,c] = s * g[b,y/2,x/2,c]
// The layers op (reshape + mean, kept for second-order autodiff) ran Mean forward and, backward, a full-size ones
// tensor filled on the calling thread, a Multiply and a RealDiv: three full-size passes and an allocation per pool
// (issue 18, bench-gan's discriminator; the product GANs' pools under the gradient penalty take the same path).
import * as tf from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { takeFloat32 } from "./buffer-pool.js";
import type { CpuBackendLike } from "./kernel-types.js";

export const POOL2X2_KERNEL = "SynthmriPool2x2";
export const SPREAD2X2_KERNEL = "SynthmriSpread2x2";

function floats(backend: CpuBackendLike, t: tf.TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  if (!(v instanceof Float32Array)) throw new TypeError(`${POOL2X2_KERNEL}: inputs must be float32`);
  return v;
}

/** Kernel configs for the cpu backend (registered by registerNativeKernels); none with an addon that lacks them. */
export function makePoolKernels(addon: NativeAddon): tf.KernelConfig[] {
  const { pool2x2, spread2x2 } = addon;
  if (pool2x2 == null || spread2x2 == null) return [];
  const kernel =
    (run: typeof pool2x2, pool: boolean): tf.KernelFunc =>
    ({ inputs, backend, attrs }) => {
      const b = backend as unknown as CpuBackendLike;
      const { x } = inputs as Record<string, tf.TensorInfo>;
      const [n, h, w, c] = x.shape;
      const small = pool ? [n, h / 2, w / 2, c] : [n, h, w, c];
      const outShape = pool ? small : [n, 2 * h, 2 * w, c];
      const y = takeFloat32(b, tf.util.sizeFromShape(outShape));
      run.call(addon, floats(b, x), y, Int32Array.from(small), attrs?.s as number);
      return b.makeTensorInfo(outShape, "float32", y);
    };
  return [
    { kernelName: POOL2X2_KERNEL, backendName: "cpu", kernelFunc: kernel(pool2x2, true) },
    { kernelName: SPREAD2X2_KERNEL, backendName: "cpu", kernelFunc: kernel(spread2x2, false) },
  ];
}

/** Each kernel's gradient is the other with the same scale, so nested gradients (WGAN-GP, R1) work. Idempotent. */
export function registerPoolGradients(): void {
  for (const [k, other] of [
    [POOL2X2_KERNEL, SPREAD2X2_KERNEL],
    [SPREAD2X2_KERNEL, POOL2X2_KERNEL],
  ]) {
    if (tf.getGradient(k)) continue;
    tf.registerGradient({
      kernelName: k,
      inputsToSave: [],
      gradFunc: (dy, _saved, attrs) => ({
        x: () => tf.engine().runKernel(other, { x: dy as tf.Tensor }, attrs as tf.NamedAttrMap) as tf.Tensor,
      }),
    });
  }
}

/**
 * 2x2 stride-2 average pooling of x [B,H,W,C] (H, W even) on the native kernels, gradients of any order; null when they
 * are not in use (another backend, no addon, odd sizes, not float32), so the caller runs its op graph.
 */
export function avgPool2x2Native(x: tf.Tensor4D): tf.Tensor4D | null {
  if (tf.getBackend() !== "cpu" || x.rank !== 4 || x.dtype !== "float32" || x.size === 0) return null;
  if (!tf.getKernel(POOL2X2_KERNEL, "cpu") || !tf.getGradient(POOL2X2_KERNEL)) return null;
  const [, H, W] = x.shape;
  if (H % 2 !== 0 || W % 2 !== 0) return null;
  return tf.engine().runKernel(POOL2X2_KERNEL, { x }, { s: 0.25 }) as tf.Tensor4D;
}
