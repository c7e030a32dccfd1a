// tfjs kernel functions over the cpu backend that run the native addon. Each returns null when its inputs are outside
// what the addon handles (NCHW, dilation, non-float32 data); the registrar then calls the stock kernel instead.
import { backend_util, type NamedAttrMap, slice_util, type TensorInfo } from "@tensorflow/tfjs-core";
import type { NativeAddon } from "./addon.js";
import { takeFloat32 } from "./buffer-pool.js";
import { makeElementwiseKernels } from "./elementwise.js";

import type { CpuBackendLike, NativeKernel } from "./kernel-types.js";

export type { CpuBackendLike, NativeKernel } from "./kernel-types.js";

function floats(backend: CpuBackendLike, t: TensorInfo | undefined): Float32Array | null {
  if (t == null || t.dtype !== "float32") return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

type Pad = "same" | "valid" | number | backend_util.ExplicitPadding;
type Rounding = "floor" | "round" | "ceil" | undefined;

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: NamedAttrMap,
  dilations: number | [number, number] = 1,
): backend_util.Conv2DInfo | null {
  if ((attrs.dataFormat ?? "NHWC") !== "NHWC") return null;
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    dilations,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
    false,
    "channelsLast",
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  return info;
}

function shapeArgs(c: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.padInfo.top,
    c.padInfo.left,
  ]);
}

const ACTIVATION_MODES: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3 };
const NO_BIAS = new Float32Array(0);

/** Adds bias (broadcast over the last axis) and applies a fused activation in place; false if unsupported. On the
 * addon's pool when it has the kernel (a serial JS pass over every fused conv's output was the largest serial part
 * of a volume inference at 2 threads), else the same arithmetic in JS. */
function biasAndActivation(
  addon: NativeAddon,
  out: Float32Array,
  channels: number,
  bias: Float32Array | null,
  activation: string,
  alpha: number,
): boolean {
  if (bias != null && bias.length !== channels && bias.length !== 1) return false;
  const mode = ACTIVATION_MODES[activation];
  if (mode === undefined) return false;
  if (addon.biasActivation != null) {
    if (bias == null && mode === 0) return true;
    const b = bias == null ? NO_BIAS : bias.length === channels ? bias : new Float32Array(channels).fill(bias[0]);
    addon.biasActivation(out, b, channels, mode, alpha);
    return true;
  }
  if (bias != null) {
    if (bias.length === 1) for (let i = 0; i < out.length; i++) out[i] += bias[0];
    else for (let i = 0; i < out.length; i += channels) for (let c = 0; c < channels; c++) out[i + c] += bias[c];
  }
  if (activation === "relu") for (let i = 0; i < out.length; i++) out[i] = Math.max(out[i], 0);
  else if (activation === "relu6") for (let i = 0; i < out.length; i++) out[i] = Math.min(Math.max(out[i], 0), 6);
  else if (activation === "leakyrelu")
    for (let i = 0; i < out.length; i++) out[i] = out[i] > 0 ? out[i] : alpha * out[i];
  return true;
}

export function makeKernels(addon: NativeAddon): Record<string, NativeKernel> {
  const conv2d: NativeKernel = ({ x, filter }, backend, attrs) => {
    const xv = floats(backend, x);
    const wv = floats(backend, filter);
    if (xv == null || wv == null) return null;
    const c = convInfo(x.shape, filter.shape, attrs, attrs.dilations as number | [number, number]);
    if (c == null) return null;
    const out = takeFloat32(backend, c.batchSize * c.outHeight * c.outWidth * c.outChannels);
    addon.conv2d(xv, wv, out, shapeArgs(c));
    return backend.makeTensorInfo(c.outShape, "float32", out);
  };

  const fusedConv2d: NativeKernel = (inputs, backend, attrs) => {
    const { bias, preluActivationWeights } = inputs;
    const activation = (attrs.activation as string | undefined) ?? "linear";
    if (preluActivationWeights != null || activation === "prelu") return null;
    const biasValues = bias == null ? null : floats(backend, bias);
    if (bias != null && biasValues == null) return null;
    const xv = floats(backend, inputs.x);
    const wv = floats(backend, inputs.filter);
    if (xv == null || wv == null) return null;
    const c = convInfo(inputs.x.shape, inputs.filter.shape, attrs, attrs.dilations as number | [number, number]);
    if (c == null) return null;
    const out = takeFloat32(backend, c.batchSize * c.outHeight * c.outWidth * c.outChannels);
    addon.conv2d(xv, wv, out, shapeArgs(c));
    if (!biasAndActivation(addon, out, c.outChannels, biasValues, activation, (attrs.leakyreluAlpha as number) ?? 0.2))
      return null;
    return backend.makeTensorInfo(c.outShape, "float32", out);
  };

  const backpropInput: NativeKernel = ({ dy, filter }, backend, attrs) => {
    const dyv = floats(backend, dy);
    const wv = floats(backend, filter);
    if (dyv == null || wv == null) return null;
    const inputShape = attrs.inputShape as number[];
    const c = convInfo(inputShape, filter.shape, attrs);
    if (c == null) return null;
    const out = takeFloat32(backend, c.batchSize * c.inHeight * c.inWidth * c.inChannels);
    addon.conv2dBackpropInput(dyv, wv, out, shapeArgs(c));
    return backend.makeTensorInfo([...inputShape], "float32", out);
  };

  const backpropFilter: NativeKernel = ({ x, dy }, backend, attrs) => {
    const xv = floats(backend, x);
    const dyv = floats(backend, dy);
    if (xv == null || dyv == null) return null;
    const filterShape = attrs.filterShape as number[];
    const c = convInfo(x.shape, filterShape, attrs);
    if (c == null) return null;
    const out = takeFloat32(backend, filterShape[0] * filterShape[1] * filterShape[2] * filterShape[3]);
    addon.conv2dBackpropFilter(xv, dyv, out, shapeArgs(c));
    return backend.makeTensorInfo([...filterShape], "float32", out);
  };

  // Returns [output, outChannels] so _FusedMatMul can add bias per column.
  const matmulCore = (
    a: TensorInfo,
    b: TensorInfo,
    backend: CpuBackendLike,
    attrs: NamedAttrMap,
  ): [Float32Array, number[]] | null => {
    const av = floats(backend, a);
    const bv = floats(backend, b);
    if (av == null || bv == null || a.shape.length < 2 || b.shape.length < 2) return null;
    const transposeA = attrs.transposeA === true;
    const transposeB = attrs.transposeB === true;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (K !== Kb) return null;
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = outerA.reduce((p, d) => p * d, 1);
    const batchB = outerB.reduce((p, d) => p * d, 1);
    let outer: number[];
    if (batchA === batchB) outer = outerA.length >= outerB.length ? outerA : outerB;
    else if (batchB === 1) outer = outerA;
    else if (batchA === 1) outer = outerB;
    else return null; // general broadcasting: stock kernel
    const out = takeFloat32(backend, Math.max(batchA, batchB) * M * N);
    addon.matmul(av, bv, out, Int32Array.from([batchA, batchB, M, N, K, transposeA ? 1 : 0, transposeB ? 1 : 0]));
    return [out, [...outer, M, N]];
  };

  const batchMatMul: NativeKernel = ({ a, b }, backend, attrs) => {
    const r = matmulCore(a, b, backend, attrs);
    return r == null ? null : backend.makeTensorInfo(r[1], "float32", r[0]);
  };

  const fusedMatMul: NativeKernel = (inputs, backend, attrs) => {
    const { bias, preluActivationWeights } = inputs;
    const activation = (attrs.activation as string | undefined) ?? "linear";
    if (preluActivationWeights != null || activation === "prelu") return null;
    const biasValues = bias == null ? null : floats(backend, bias);
    if (bias != null && (biasValues == null || bias.shape.length > 1)) return null;
    const r = matmulCore(inputs.a, inputs.b, backend, attrs);
    if (r == null) return null;
    const n = r[1][r[1].length - 1];
    if (!biasAndActivation(addon, r[0], n, biasValues, activation, (attrs.leakyreluAlpha as number) ?? 0.2))
      return null;
    return backend.makeTensorInfo(r[1], "float32", r[0]);
  };

  // Concatenation along the last axis (U-Net skip connections); other axes go to the stock kernel.
  const concat: NativeKernel = (inputs, backend, attrs) => {
    const parts = Object.values(inputs);
    if (parts.length === 0) return null;
    const rank = parts[0].shape.length;
    const axis = (attrs.axis as number) < 0 ? rank + (attrs.axis as number) : (attrs.axis as number);
    if (axis !== rank - 1 || rank < 2) return null;
    const lead = parts[0].shape.slice(0, -1);
    const vals: Float32Array[] = [];
    for (const p of parts) {
      const v = floats(backend, p);
      if (v == null || p.shape.length !== rank || p.shape.slice(0, -1).some((d, i) => d !== lead[i])) return null;
      vals.push(v);
    }
    const widths = parts.map((p) => p.shape[rank - 1]);
    const total = widths.reduce((x, y) => x + y, 0);
    const rows = lead.reduce((x, y) => x * y, 1);
    const out = takeFloat32(backend, rows * total);
    let offset = 0;
    vals.forEach((v, j) => {
      const w = widths[j];
      addon.copyRows(v, out, Int32Array.of(0, w, offset, total, rows, w));
      offset += w;
    });
    return backend.makeTensorInfo([...lead, total], "float32", out);
  };

  // Slices of float32 tensors as row copies of the innermost axis. The stock kernel copies non-contiguous slices
  // (concat's gradient: channel splits) element by element through a generic index map, ~100x slower.
  const slice: NativeKernel = ({ x }, backend, attrs) => {
    const xv = floats(backend, x);
    if (xv == null || x.shape.length === 0) return null;
    const [begin, size] = slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
    return sliceRows(x, xv, begin, size, backend);
  };
  const sliceRows = (x: TensorInfo, xv: Float32Array, begin: number[], size: number[], backend: CpuBackendLike) => {
    const rank = x.shape.length;
    const strides = new Array<number>(rank).fill(1);
    for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * x.shape[d + 1];
    const total = size.reduce((p, d) => p * d, 1);
    const out = takeFloat32(backend, total);
    const inner = size[rank - 1];
    // A column block of a [rows, width] matrix (leading axes whole): one native strided copy.
    if (total > 0 && size.slice(0, -1).every((d, i) => d === x.shape[i] && begin[i] === 0)) {
      const rows = total / inner;
      addon.copyRows(xv, out, Int32Array.of(begin[rank - 1], x.shape[rank - 1], 0, inner, rows, inner));
      return backend.makeTensorInfo([...size], "float32", out);
    }
    if (total > 0) {
      const idx = new Array<number>(rank - 1).fill(0);
      for (let o = 0; o < total; o += inner) {
        let src = begin[rank - 1];
        for (let d = 0; d < rank - 1; d++) src += (begin[d] + idx[d]) * strides[d];
        for (let k = 0; k < inner; k++) out[o + k] = xv[src + k];
        for (let d = rank - 2; d >= 0; d--) {
          if (++idx[d] < size[d]) break;
          idx[d] = 0;
        }
      }
    }
    return backend.makeTensorInfo([...size], "float32", out);
  };

  // split's kernel (concat's gradient) calls the stock slice implementation directly, so it needs its own override.
  const splitV = (({ x }: Record<string, TensorInfo>, backend: CpuBackendLike, attrs: NamedAttrMap) => {
    const xv = floats(backend, x);
    if (xv == null) return null;
    const rank = x.shape.length;
    const axis = (attrs.axis as number) < 0 ? rank + (attrs.axis as number) : (attrs.axis as number);
    const sizes = backend_util.prepareSplitSize(x as never, attrs.numOrSizeSplits as number | number[], axis);
    const begin = new Array<number>(rank).fill(0);
    const outs: TensorInfo[] = [];
    for (const s of sizes) {
      const size = [...x.shape];
      size[axis] = s;
      outs.push(sliceRows(x, xv, [...begin], size, backend));
      begin[axis] += s;
    }
    return outs;
  }) as unknown as NativeKernel;

  // The stock Transpose maps every element through a generic index map (the U-Net's transposed-conv pixel shuffle
  // and its gradient took ~15 % of a training step); the addon copies contiguous runs of merged axes.
  const transpose: NativeKernel = ({ x }, backend, attrs) => {
    const xv = floats(backend, x);
    const perm = attrs.perm as number[] | undefined;
    if (xv == null || perm == null || perm.length !== x.shape.length || x.shape.length === 0) return null;
    const out = takeFloat32(backend, xv.length);
    addon.transpose(xv, out, Int32Array.from(x.shape), Int32Array.from(perm));
    return backend.makeTensorInfo(
      perm.map((p) => x.shape[p]),
      "float32",
      out,
    );
  };

  // Nearest-neighbour 2x upsampling (the generators' upsample) and its gradient: the stock kernels compute source
  // coordinates per element. Only the exact 2x, corner-unaligned, integer-centre case; anything else goes to stock.
  const upsampleShape = (images: TensorInfo, outH: number, outW: number, attrs: NamedAttrMap): Int32Array | null => {
    if (images.shape.length !== 4 || attrs.alignCorners === true || attrs.halfPixelCenters === true) return null;
    const [n, h, w, c] = images.shape;
    if (outH !== 2 * h || outW !== 2 * w || n * h * w * c === 0) return null;
    return Int32Array.of(n, h, w, c);
  };
  const resizeNearest: NativeKernel = ({ images }, backend, attrs) => {
    const xv = floats(backend, images);
    const [outH, outW] = (attrs.size as [number, number] | undefined) ?? [0, 0];
    const shape = xv == null ? null : upsampleShape(images, outH, outW, attrs);
    if (xv == null || shape == null) return null;
    const out = takeFloat32(backend, xv.length * 4);
    addon.upsample2x(xv, out, shape);
    return backend.makeTensorInfo([shape[0], outH, outW, shape[3]], "float32", out);
  };
  const resizeNearestGrad: NativeKernel = ({ images, dy }, backend, attrs) => {
    const dyv = floats(backend, dy);
    const shape = dyv == null || dy.shape.length !== 4 ? null : upsampleShape(images, dy.shape[1], dy.shape[2], attrs);
    if (dyv == null || shape == null || dy.shape[0] !== shape[0] || dy.shape[3] !== shape[3]) return null;
    const out = takeFloat32(backend, dyv.length / 4);
    addon.upsample2xGrad(dyv, out, shape);
    return backend.makeTensorInfo([...images.shape], "float32", out);
  };

  return {
    ResizeNearestNeighbor: resizeNearest,
    ResizeNearestNeighborGrad: resizeNearestGrad,
    Transpose: transpose,
    Slice: slice,
    SplitV: splitV,
    // Add, Sub, Multiply, RealDiv, Sum, Mean, Relu, Step, Neg, Square, Sqrt (elementwise.ts).
    ...makeElementwiseKernels(addon),
    Concat: concat,
    Conv2D: conv2d,
    FusedConv2D: fusedConv2d,
    Conv2DBackpropInput: backpropInput,
    Conv2DBackpropFilter: backpropFilter,
    BatchMatMul: batchMatMul,
    _FusedMatMul: fusedMatMul,
  };
}
