// The U-Net's 2x2 stride-2 transposed conv + bias (layers/ops.ts convTranspose2x2) as one cpu kernel each way. The op
// graph (transpose w, matMul, pixel-shuffle transpose, Add bias; backward Sum, transposes, two matMuls) is ~16 ops per
// layer on the tape, each with its JS wrapper and bookkeeping on the calling thread: the serial part a second thread
// cannot shorten (issue 18). These kernels call the same addon routines in the same order on the same layouts
// (transpose, matmul, bias epilogue, reduceSum), so the results are bit-identical to that graph on the native kernels.
// First-order gradients only (customGrad).
import * as tf from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { takeFloat32 } from "./buffer-pool.js";
import { reduceSum } from "./elementwise.js";
import type { CpuBackendLike } from "./kernel-types.js";

export const CONV_TRANSPOSE_2X2_KERNEL = "SynthmriConvTranspose2x2";
export const CONV_TRANSPOSE_2X2_GRAD_KERNEL = "SynthmriConvTranspose2x2Grad";

/** The backend with disposeData: scratch arrays go back to the buffer pool through a disposed tensor. */
type Backend = CpuBackendLike & { disposeData(dataId: object): boolean };

function floats(backend: CpuBackendLike, t: tf.TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  if (!(v instanceof Float32Array)) throw new TypeError(`${CONV_TRANSPOSE_2X2_KERNEL}: inputs must be float32`);
  return v;
}

/** A scratch array from the buffer pool, and the function that hands it back. */
function scratch(backend: Backend, n: number): [Float32Array, () => void] {
  const a = takeFloat32(backend, n);
  return [a, () => backend.disposeData(backend.makeTensorInfo([n], "float32", a).dataId)];
}

/** x [n,h,w,cin], w [2,2,cout,cin] (conv2dTranspose layout) -> the dims and w as the GEMM's [cin, (ky,kx,cout)]. */
function plan(addon: NativeAddon, backend: Backend, x: tf.TensorInfo, w: tf.TensorInfo) {
  const [n, h, wd, cin] = x.shape;
  const cout = w.shape[2];
  const [wm, freeWm] = scratch(backend, 4 * cout * cin);
  addon.transpose(floats(backend, w), wm, Int32Array.of(2, 2, cout, cin), Int32Array.of(3, 0, 1, 2));
  return { n, h, wd, cin, cout, rows: n * h * wd, wm, freeWm };
}

/** Kernel configs for the cpu backend (registered by registerNativeKernels); none with an addon that lacks the epilogue. */
export function makeConvTransposeKernels(addon: NativeAddon): tf.KernelConfig[] {
  const { biasActivation } = addon;
  if (biasActivation == null) return [];
  return [
    {
      kernelName: CONV_TRANSPOSE_2X2_KERNEL,
      backendName: "cpu",
      kernelFunc: ({ inputs, backend }) => {
        const be = backend as unknown as Backend;
        const { x, w, b } = inputs as Record<string, tf.TensorInfo>;
        const p = plan(addon, be, x, w);
        const [y, freeY] = scratch(be, p.rows * 4 * p.cout);
        addon.matmul(floats(be, x), p.wm, y, Int32Array.of(1, 1, p.rows, 4 * p.cout, p.cin, 0, 0));
        const outShape = [p.n, 2 * p.h, 2 * p.wd, p.cout];
        const out = takeFloat32(be, y.length);
        addon.transpose(y, out, Int32Array.of(p.n, p.h, p.wd, 2, 2, p.cout), Int32Array.of(0, 1, 3, 2, 4, 5));
        biasActivation.call(addon, out, floats(be, b), p.cout, 0, 0);
        p.freeWm();
        freeY();
        return be.makeTensorInfo(outShape, "float32", out);
      },
    },
    {
      kernelName: CONV_TRANSPOSE_2X2_GRAD_KERNEL,
      backendName: "cpu",
      kernelFunc: ({ inputs, backend }) => {
        const be = backend as unknown as Backend;
        const { x, w, dy } = inputs as Record<string, tf.TensorInfo>;
        const p = plan(addon, be, x, w);
        const dyv = floats(be, dy);
        const db = reduceSum(dy.shape, dyv, [0, 1, 2], addon, (k) => takeFloat32(be, k));
        // dy back through the pixel shuffle (its own inverse permutation) to the GEMM's [rows, (ky,kx,cout)].
        const [dym, freeDym] = scratch(be, dyv.length);
        addon.transpose(dyv, dym, Int32Array.of(p.n, p.h, 2, p.wd, 2, p.cout), Int32Array.of(0, 1, 3, 2, 4, 5));
        const dx = takeFloat32(be, p.rows * p.cin);
        addon.matmul(dym, p.wm, dx, Int32Array.of(1, 1, p.rows, p.cin, 4 * p.cout, 0, 1));
        const [dwm, freeDwm] = scratch(be, p.cin * 4 * p.cout);
        addon.matmul(floats(be, x), dym, dwm, Int32Array.of(1, 1, p.cin, 4 * p.cout, p.rows, 1, 0));
        const dw = takeFloat32(be, dwm.length);
        addon.transpose(dwm, dw, Int32Array.of(p.cin, 2, 2, p.cout), Int32Array.of(1, 2, 3, 0));
        p.freeWm();
        freeDym();
        freeDwm();
        return [
          be.makeTensorInfo([...x.shape], "float32", dx),
          be.makeTensorInfo([...w.shape], "float32", dw),
          be.makeTensorInfo([p.cout], "float32", db),
        ];
      },
    },
  ];
}

/**
 * convTranspose2x2 with a bias on the native kernels: x [B,H,W,Cin], w [2,2,Cout,Cin], b [Cout] -> [B,2H,2W,Cout];
 * null when they are not active (cpu backend with registerNativeKernels() and an addon that has them) or x is not
 * float32. First-order gradients for x, w and b.
 */
export function convTranspose2x2Native(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D | null {
  if (x.dtype !== "float32" || tf.getBackend() !== "cpu" || tf.getKernel(CONV_TRANSPOSE_2X2_KERNEL, "cpu") == null)
    return null;
  const f = tf.customGrad((xi, wi, bi, save) => {
    (save as tf.GradSaveFunc)([xi as tf.Tensor, wi as tf.Tensor]);
    const value = tf
      .engine()
      .runKernel(CONV_TRANSPOSE_2X2_KERNEL, { x: xi as tf.Tensor, w: wi as tf.Tensor, b: bi as tf.Tensor }, {});
    return {
      value: value as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(CONV_TRANSPOSE_2X2_GRAD_KERNEL, { x: saved[0], w: saved[1], dy }, {}) as tf.Tensor[],
    };
  });
  return f(x, w, b) as tf.Tensor4D;
}
