// The U-Net's per-head segmentation loss (CE + 1 - mean foreground soft Dice, unet/loss.ts) as one native cpu kernel
// that also writes the gradient. As ~20 stock ops (logSoftmax, exp, slices, sums, their gradients) it took ~10-15 % of
// a bench-unet training step on one thread, all of it in single-threaded JS kernels with a fresh array per op.
import * as tf from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { takeFloat32 } from "./buffer-pool.js";
import type { CpuBackendLike } from "./kernel-types.js";

export const CE_DICE_LOSS_KERNEL = "SynthmriCeDiceLoss";

function values(backend: CpuBackendLike, t: tf.TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  if (!(v instanceof Float32Array)) throw new TypeError(`${CE_DICE_LOSS_KERNEL}: inputs must be float32`);
  return v;
}

/** Kernel config for the cpu backend (registered by registerNativeKernels): outputs [loss (scalar), dLoss/dlogits]. */
export function makeLossKernels(addon: NativeAddon): tf.KernelConfig[] {
  return [
    {
      kernelName: CE_DICE_LOSS_KERNEL,
      backendName: "cpu",
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as unknown as CpuBackendLike;
        const { logits, onehot } = inputs as Record<string, tf.TensorInfo>;
        const classes = logits.shape[logits.shape.length - 1];
        const z = values(b, logits);
        const grad = takeFloat32(b, z.length);
        const loss = addon.ceDiceLoss(
          z,
          values(b, onehot),
          grad,
          Int32Array.of(z.length / classes, classes),
          Float32Array.of(attrs?.smooth as number),
        );
        return [
          b.makeTensorInfo([], "float32", Float32Array.of(loss)),
          b.makeTensorInfo([...logits.shape], "float32", grad),
        ];
      },
    },
  ];
}

/** True when ceDiceLossNative runs (cpu backend with registerNativeKernels() in effect). */
export function nativeCeDiceLossAvailable(): boolean {
  return tf.getBackend() === "cpu" && tf.getKernel(CE_DICE_LOSS_KERNEL, "cpu") != null;
}

/**
 * CE + (1 - mean over classes 1..C-1 of the soft batch Dice (2 sum p g + smooth) / (sum p + sum g + smooth)), softmax
 * over the last axis, CE averaged over pixels. First-order gradient for the logits only (targets are data). Call only
 * when nativeCeDiceLossAvailable(); logits and onehot float32 of one shape, 2..64 classes.
 */
export function ceDiceLossNative(logits: tf.Tensor, onehot: tf.Tensor, smooth: number): tf.Scalar {
  const f = tf.customGrad((z, save) => {
    const [value, grad] = tf
      .engine()
      .runKernel(CE_DICE_LOSS_KERNEL, { logits: z as tf.Tensor, onehot }, { smooth }) as tf.Tensor[];
    (save as tf.GradSaveFunc)([grad]);
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]) };
  });
  return f(logits) as tf.Scalar;
}
