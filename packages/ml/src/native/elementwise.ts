// Fast paths for the cpu backend's elementwise and reduction kernels on float32 tensors. The stock kernels
// compute every broadcast element through a generic index map (indexToLoc + locToIndex per element), and
// Mean/Sum transpose the whole tensor first. GAN training with a gradient penalty is made of such ops (leaky
// ReLU as mul+relu, pixel norm's keep-dims division, Mean/Sum gradients that multiply by a broadcast ones
// tensor, the upsample-by-broadcast): measured on a 32x32 PGAN step they took ~90 % of the time on cpu, the
// stock Multiply alone ~60 %. Here broadcasting collapses to at most a few strided loops over merged axes.
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { takeFloat32 } from "./buffer-pool.js";
import type { CpuBackendLike, NativeKernel } from "./kernel-types.js";

/** From this many output elements on, binary ops run in the addon (vectorised, on the worker pool). */
const NATIVE_BINARY_MIN = 4096;

function floats(backend: CpuBackendLike, t: TensorInfo | undefined): Float32Array | null {
  if (t == null || t.dtype !== "float32") return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

type BinaryOp = 0 | 1 | 2 | 3; // add, sub, mul, div
const ADD = 0;
const SUB = 1;
const MUL = 2;

/** out[o + i] = a[ia + i*sa] op b[ib + i*sb], i < n: one monomorphic loop per op and stride pattern. */
function run(
  op: BinaryOp,
  out: Float32Array,
  o: number,
  a: Float32Array,
  ia: number,
  sa: number,
  b: Float32Array,
  ib: number,
  sb: number,
  n: number,
): void {
  if (sa === 1 && sb === 1) {
    if (op === ADD) for (let i = 0; i < n; i++) out[o + i] = a[ia + i] + b[ib + i];
    else if (op === SUB) for (let i = 0; i < n; i++) out[o + i] = a[ia + i] - b[ib + i];
    else if (op === MUL) for (let i = 0; i < n; i++) out[o + i] = a[ia + i] * b[ib + i];
    else for (let i = 0; i < n; i++) out[o + i] = a[ia + i] / b[ib + i];
  } else if (sb === 0) {
    const y = b[ib];
    if (op === ADD) for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + y;
    else if (op === SUB) for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] - y;
    else if (op === MUL) for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] * y;
    else for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] / y;
  } else {
    // sa === 0 (sb === 1)
    const x = a[ia];
    if (op === ADD) for (let i = 0; i < n; i++) out[o + i] = x + b[ib + i * sb];
    else if (op === SUB) for (let i = 0; i < n; i++) out[o + i] = x - b[ib + i * sb];
    else if (op === MUL) for (let i = 0; i < n; i++) out[o + i] = x * b[ib + i * sb];
    else for (let i = 0; i < n; i++) out[o + i] = x / b[ib + i * sb];
  }
}

interface BroadcastPlan {
  shape: number[];
  dims: number[];
  aStrides: number[];
  bStrides: number[];
}

/**
 * Broadcast shape and merged axes: adjacent output axes whose broadcast pattern (a broadcast?, b broadcast?)
 * is the same are fused, so e.g. [8,32,32,64] * [8,1,1,1] becomes [8, 65536] with b strides [1, 0].
 */
export function broadcastPlan(aShape: readonly number[], bShape: readonly number[]): BroadcastPlan | null {
  const rank = Math.max(aShape.length, bShape.length);
  const ap = [...new Array<number>(rank - aShape.length).fill(1), ...aShape];
  const bp = [...new Array<number>(rank - bShape.length).fill(1), ...bShape];
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) {
    if (ap[d] !== bp[d] && ap[d] !== 1 && bp[d] !== 1) return null;
    shape.push(ap[d] === 1 ? bp[d] : ap[d]); // not max: a 0-size axis broadcasts against 1 to 0
  }
  // Merge axes (skipping size-1 output axes) with the same pattern.
  const dims: number[] = [];
  const aUse: boolean[] = [];
  const bUse: boolean[] = [];
  for (let d = 0; d < rank; d++) {
    if (shape[d] === 1) continue;
    const ua = ap[d] !== 1;
    const ub = bp[d] !== 1;
    const k = dims.length - 1;
    if (k >= 0 && aUse[k] === ua && bUse[k] === ub) dims[k] *= shape[d];
    else {
      dims.push(shape[d]);
      aUse.push(ua);
      bUse.push(ub);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    aUse.push(true);
    bUse.push(true);
  }
  const strides = (use: boolean[]) => {
    const s = new Array<number>(dims.length).fill(0);
    let acc = 1;
    for (let d = dims.length - 1; d >= 0; d--) {
      if (use[d]) {
        s[d] = acc;
        acc *= dims[d];
      }
    }
    return s;
  };
  return { shape, dims, aStrides: strides(aUse), bStrides: strides(bUse) };
}

export function broadcastBinary(
  op: BinaryOp,
  aShape: readonly number[],
  av: Float32Array,
  bShape: readonly number[],
  bv: Float32Array,
): { shape: number[]; values: Float32Array } | null {
  const plan = broadcastPlan(aShape, bShape);
  return plan == null ? null : planBinary(op, plan, av, bv);
}

/** Output allocator: fresh arrays, or the cpu backend's buffer pool inside kernels (contents then undefined). */
type Alloc = (n: number) => Float32Array;
const fresh: Alloc = (n) => new Float32Array(n);

/** The strided JS loops of a plan (one per inner run). */
function planBinary(
  op: BinaryOp,
  plan: BroadcastPlan,
  av: Float32Array,
  bv: Float32Array,
  alloc: Alloc = fresh,
): { shape: number[]; values: Float32Array } | null {
  const { shape, dims, aStrides, bStrides } = plan;
  const size = dims.reduce((p, d) => p * d, 1);
  const out = alloc(size);
  if (size === 0) return { shape, values: out };
  const r = dims.length;
  const inner = dims[r - 1];
  const sa = aStrides[r - 1];
  const sb = bStrides[r - 1];
  if (sa === 0 && sb === 0) return null; // cannot happen after merging (both-broadcast axes are size 1)
  const idx = new Array<number>(r).fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < size; o += inner) {
    run(op, out, o, av, ia, sa, bv, ib, sb, inner);
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      ia += aStrides[d];
      ib += bStrides[d];
      if (idx[d] < dims[d]) break;
      ia -= aStrides[d] * dims[d];
      ib -= bStrides[d] * dims[d];
      idx[d] = 0;
    }
  }
  return { shape, values: out };
}

/**
 * Sum over `axes` of x, accumulated in float64. Axes are merged into alternating kept/reduced runs; the
 * output index advances only on kept axes.
 */
export function reduceSum(
  shape: readonly number[],
  xv: Float32Array,
  axes: readonly number[],
  addon: NativeAddon | null = null,
  alloc: Alloc = fresh,
): Float32Array {
  const rank = shape.length;
  const reduced = new Array<boolean>(rank).fill(false);
  for (const a of axes) reduced[a] = true;
  const dims: number[] = [];
  const red: boolean[] = [];
  for (let d = 0; d < rank; d++) {
    if (shape[d] === 1) continue;
    const k = dims.length - 1;
    if (k >= 0 && red[k] === reduced[d]) dims[k] *= shape[d];
    else {
      dims.push(shape[d]);
      red.push(reduced[d]);
    }
  }
  let outSize = 1;
  for (let d = 0; d < dims.length; d++) if (!red[d]) outSize *= dims[d];
  // 2x2 block sums ([rows, 2, w, 2, c] reduced over the 2s: avg-pool as reshape + mean), same order as below.
  if (
    addon != null &&
    xv.length >= NATIVE_BINARY_MIN &&
    dims.length === 5 &&
    dims[1] === 2 &&
    dims[3] === 2 &&
    red.join() === "false,true,false,true,false"
  ) {
    const out = alloc(outSize);
    addon.upsample2xGrad(xv, out, Int32Array.of(1, dims[0], dims[2], dims[4]));
    return out;
  }
  // Native for the common [rows, cols] patterns (bias gradients, per-pixel class sums): float64 sums like below (per
  // column over fixed row chunks), equal to these within float32 rounding.
  if (addon != null && xv.length >= NATIVE_BINARY_MIN && dims.length <= 2 && red.some((r) => r)) {
    const rows = dims.length === 2 ? dims[0] : 1;
    const cols = dims[dims.length - 1];
    const reduceRows = dims.length === 2 && red[0];
    if (dims.length === 1 || red[0] !== red[1]) {
      const out = alloc(outSize);
      addon.sum2d(xv, out, Int32Array.of(rows, cols, reduceRows ? 1 : 0));
      return out;
    }
  }
  const acc = new Float64Array(outSize);
  if (dims.length === 0) {
    acc[0] = xv[0] ?? 0;
    return Float32Array.from(acc);
  }
  const outStrides = new Array<number>(dims.length).fill(0);
  let s = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    if (!red[d]) {
      outStrides[d] = s;
      s *= dims[d];
    }
  }
  const r = dims.length;
  const inner = dims[r - 1];
  const innerReduced = red[r - 1];
  const idx = new Array<number>(r).fill(0);
  let oo = 0;
  for (let i = 0; i < xv.length; i += inner) {
    if (innerReduced) {
      let t = 0;
      for (let k = 0; k < inner; k++) t += xv[i + k];
      acc[oo] += t;
    } else {
      for (let k = 0; k < inner; k++) acc[oo + k] += xv[i + k];
    }
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      oo += outStrides[d];
      if (idx[d] < dims[d]) break;
      oo -= outStrides[d] * dims[d];
      idx[d] = 0;
    }
  }
  return Float32Array.from(acc);
}

function reductionAxes(x: TensorInfo, attrs: NamedAttrMap): { axes: number[]; shape: number[]; count: number } {
  const rank = x.shape.length;
  const raw = attrs.axis == null ? [] : ([] as number[]).concat(attrs.axis as number | number[]);
  const axes = raw.length === 0 ? x.shape.map((_d, i) => i) : [...new Set(raw.map((a) => (a < 0 ? rank + a : a)))];
  const shape =
    attrs.keepDims === true
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_d, i) => !axes.includes(i));
  const count = axes.reduce((p, a) => p * x.shape[a], 1);
  return { axes, shape, count };
}

/** The addon's strided binary op, or null where the JS loop is as good (small). */
function nativeBinary(
  addon: NativeAddon,
  op: BinaryOp,
  plan: BroadcastPlan,
  av: Float32Array,
  bv: Float32Array,
  alloc: Alloc,
): { shape: number[]; values: Float32Array } | null {
  const size = plan.dims.reduce((p, d) => p * d, 1);
  if (size < NATIVE_BINARY_MIN) return null;
  const out = alloc(size);
  addon.binary(
    op,
    av,
    bv,
    out,
    Int32Array.from(plan.dims),
    Int32Array.from(plan.aStrides),
    Int32Array.from(plan.bStrides),
  );
  return { shape: plan.shape, values: out };
}

function binary(op: BinaryOp, addon: NativeAddon | null): NativeKernel {
  return ({ a, b }, backend) => {
    const av = floats(backend, a);
    const bv = floats(backend, b);
    if (av == null || bv == null) return null;
    // One plan for both routes: small ops fall back to the JS loops without planning again.
    const plan = broadcastPlan(a.shape, b.shape);
    if (plan == null) return null;
    const alloc: Alloc = (n) => takeFloat32(backend, n);
    const r = (addon ? nativeBinary(addon, op, plan, av, bv, alloc) : null) ?? planBinary(op, plan, av, bv, alloc);
    return r == null ? null : backend.makeTensorInfo(r.shape, "float32", r.values);
  };
}

function unary(f: (xv: Float32Array, out: Float32Array, attrs: NamedAttrMap) => void): NativeKernel {
  return ({ x }, backend, attrs) => {
    const xv = floats(backend, x);
    if (xv == null) return null;
    const out = takeFloat32(backend, xv.length);
    f(xv, out, attrs);
    return backend.makeTensorInfo([...x.shape], "float32", out);
  };
}

/** With `addon`, large binary ops run natively; without it (tests of the JS paths), all in JS. */
export function makeElementwiseKernels(addon: NativeAddon | null = null): Record<string, NativeKernel> {
  const sum: NativeKernel = ({ x }, backend, attrs) => {
    const xv = floats(backend, x);
    if (xv == null) return null;
    const { axes, shape } = reductionAxes(x, attrs);
    return backend.makeTensorInfo(
      shape,
      "float32",
      reduceSum(x.shape, xv, axes, addon, (n) => takeFloat32(backend, n)),
    );
  };
  const mean: NativeKernel = ({ x }, backend, attrs) => {
    const xv = floats(backend, x);
    if (xv == null) return null;
    const { axes, shape, count } = reductionAxes(x, attrs);
    const out = reduceSum(x.shape, xv, axes, addon, (n) => takeFloat32(backend, n));
    // Divide (not multiply by 1/count): the stock kernel divides, so results match it bit for bit where sums do.
    for (let i = 0; i < out.length; i++) out[i] = out[i] / count;
    return backend.makeTensorInfo(shape, "float32", out);
  };
  return {
    Add: binary(0, addon),
    Sub: binary(1, addon),
    Multiply: binary(2, addon),
    RealDiv: binary(3, addon),
    Sum: sum,
    Mean: mean,
    Relu: unary((x, o) => {
      for (let i = 0; i < x.length; i++) o[i] = Math.max(x[i], 0); // NaN stays NaN, as in the stock kernel
    }),
    Step: unary((x, o, attrs) => {
      const alpha = (attrs.alpha as number | undefined) ?? 0;
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        o[i] = Number.isNaN(v) ? Number.NaN : v > 0 ? 1 : alpha;
      }
    }),
    // The stock Exp/Log call a generic per-element closure (~45 ms for 262k values in the U-Net loss).
    Exp: unary((x, o) => {
      for (let i = 0; i < x.length; i++) o[i] = Math.exp(x[i]);
    }),
    Log: unary((x, o) => {
      for (let i = 0; i < x.length; i++) o[i] = Math.log(x[i]);
    }),
    Tanh: unary((x, o) => {
      for (let i = 0; i < x.length; i++) o[i] = Math.tanh(x[i]);
    }),
    Neg: unary((x, o) => {
      for (let i = 0; i < x.length; i++) o[i] = -x[i];
    }),
    Square: unary((x, o) => {
      for (let i = 0; i < x.length; i++) o[i] = x[i] * x[i];
    }),
    Sqrt: unary((x, o) => {
      for (let i = 0; i < x.length; i++) o[i] = Math.sqrt(x[i]);
    }),
  };
}
