// Finds and loads the compiled kernel addon (packages/ml/native/build/Release/synthmri_kernels.node).
// Absence is a normal state (no compiler at install, or SYNTHMRI_NATIVE=0): callers get null and stay on JS kernels.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The functions exported by native/src/addon.cc. Every call is synchronous and writes into `out`. */
export interface NativeAddon {
  /** shape: Int32Array [n, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, padTop, padLeft]. */
  conv2d(x: Float32Array, filter: Float32Array, out: Float32Array, shape: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, out: Float32Array, shape: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, out: Float32Array, shape: Int32Array): void;
  /** shape: Int32Array [batchA, batchB, M, N, K, transposeA, transposeB]. */
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, shape: Int32Array): void;
  /** scalars: Float32Array [eps, alpha]; shape: Int32Array [n, h*w, c]. */
  instanceNorm(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    shape: Int32Array,
    scalars: Float32Array,
  ): void;
  instanceNormGrad(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    shape: Int32Array,
    scalars: Float32Array,
  ): void;
  /** out = x transposed by perm (x's shape given). */
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  /** out = a op b over merged output dims with per-operand element strides (0 = broadcast); op 0 add 1 sub 2 mul 3 div. */
  binary(
    op: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    dims: Int32Array,
    aStrides: Int32Array,
    bStrides: Int32Array,
  ): void;
  /** dst[dOff + r*dStride + k] = src[sOff + r*sStride + k]; layout [sOff, sStride, dOff, dStride, rows, width]. */
  copyRows(src: Float32Array, dst: Float32Array, layout: Int32Array): void;
  /** Sums of a [rows x cols] matrix in double: shape [rows, cols, reduceRows (1: per column, 0: per row)]. */
  sum2d(x: Float32Array, out: Float32Array, shape: Int32Array): void;
  /** y = leaky(x + b) over rows of b's length; scalars [alpha]. */
  biasLeaky(x: Float32Array, b: Float32Array, y: Float32Array, scalars: Float32Array): void;
  /** In place y = act(y + bias) over rows of `channels` (bias of length 0: none); mode 0 linear, 1 relu, 2 relu6,
   * 3 leaky (slope alpha). Optional: an addon built before it existed lacks it. */
  biasActivation?(y: Float32Array, bias: Float32Array, channels: number, mode: number, alpha: number): void;
  /** dx = dy * (y > 0 ? 1 : alpha), db = column sums of dx; scalars [alpha]. */
  biasLeakyGrad(y: Float32Array, dy: Float32Array, dx: Float32Array, db: Float32Array, scalars: Float32Array): void;
  /** avgPool2x2(leaky(x + b)) of NHWC x (shape [n, h, w, c] of the pooled side) and its gradient for x and b, with the
   * unfused kernels' arithmetic. Optional (older addons). */
  biasLeakyPool?(x: Float32Array, b: Float32Array, y: Float32Array, shape: Int32Array, alpha: number): void;
  biasLeakyPoolGrad?(
    x: Float32Array,
    b: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    db: Float32Array,
    shape: Int32Array,
    alpha: number,
  ): void;
  /** y = tanh(x + b) over rows of b's length; biasTanhGrad: dx = dy * (1 - y*y), db = column sums of dx. Optional: an
   * addon built before they existed lacks them. */
  biasTanh?(x: Float32Array, b: Float32Array, y: Float32Array): void;
  biasTanhGrad?(y: Float32Array, dy: Float32Array, dx: Float32Array, db: Float32Array): void;
  /** pool2x2: scale times each 2x2 block's sum (x the large side); spread2x2: each value times scale to a 2x2 block (y
   * the large side); shape [n, h, w, c] of the small side. Each is the other's adjoint. Optional (older addons). */
  pool2x2?(x: Float32Array, y: Float32Array, shape: Int32Array, scale: number): void;
  spread2x2?(x: Float32Array, y: Float32Array, shape: Int32Array, scale: number): void;
  /** Nearest 2x upsampling NHWC; shape [n, h, w, c] of the small side. */
  upsample2x(x: Float32Array, y: Float32Array, shape: Int32Array): void;
  upsample2xGrad(dy: Float32Array, dx: Float32Array, shape: Int32Array): void;
  /** In place: g' = g + wd*p; v = m*v + g'; p -= lr*(g' + m*v). scalars [lr, momentum, weightDecay]. */
  sgdNesterov(p: Float32Array, g: Float32Array, v: Float32Array, scalars: Float32Array): void;
  /** In place Adam step; scalars [lr, b1, 1-b1, b2, 1-b2, 1-b1^t, 1-b2^t, eps]. */
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, scalars: Float32Array): void;
  /** Fused CE + (1 - foreground soft Dice) of [pixels, classes] logits; writes dlogits, returns the loss.
   * shape [pixels, classes]; scalars [smooth]. */
  ceDiceLoss(
    logits: Float32Array,
    onehot: Float32Array,
    dlogits: Float32Array,
    shape: Int32Array,
    scalars: Float32Array,
  ): number;
  setThreads(n: number): void;
  getThreads(): number;
  /** Per-task CPU timing in the worker pool (bench --profile); switching clears the counters. */
  setProfiling?(on: boolean): void;
  /** [parallel_for calls, their wall ns replayed on getThreads() idle cores, summed task CPU ns, calling-thread CPU ns
   * inside them, calling-thread CPU ns now]. Optional: an addon built before these existed lacks them. */
  profileCounters?(): number[];
  /** glibc malloc_trim(0): free arena pages back to the OS; true when some were released. Absent in addons built
   * before it existed. */
  mallocTrim?(): boolean;
  /** "avx2+fma" or "portable": which micro-kernel the build selected. */
  simd(): string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Where scripts/build-native.mjs (node-gyp) puts the addon. */
export const NATIVE_ADDON_PATH = join(here, "..", "..", "native", "build", "Release", "synthmri_kernels.node");

let cached: NativeAddon | null | undefined;
let loadError: string | undefined;

/** The addon, or null when it is not built, fails to load, or SYNTHMRI_NATIVE=0 turns it off. */
export function loadNativeAddon(): NativeAddon | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.SYNTHMRI_NATIVE === "0") {
    loadError = "disabled by SYNTHMRI_NATIVE=0";
  } else if (!existsSync(NATIVE_ADDON_PATH)) {
    loadError = `not built (${NATIVE_ADDON_PATH} missing; run: node scripts/build-native.mjs)`;
  } else {
    try {
      cached = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
    } catch (err) {
      loadError = `failed to load ${NATIVE_ADDON_PATH}: ${(err as Error).message}`;
    }
  }
  return cached;
}

/** Why loadNativeAddon() returned null (undefined when it loaded or was not tried). */
export function nativeAddonLoadError(): string | undefined {
  return loadError;
}
