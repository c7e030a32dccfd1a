// Conv2DBackpropFilter for the webgpu backend as im2col + one matrix product:
//   dW[kh*kw*Ci, Co] = im2col(x)[B*oh*ow, kh*kw*Ci]^T . dy[B*oh*ow, Co]
// The stock webgpu kernel gives each of the kh*kw*Ci*Co outputs one invocation that loops serially over all
// B*oh*ow positions (65,536 for bench-unet's first level): a few dozen workgroups on a GPU with 100+ compute units,
// each walking memory one element at a time. As a product with a long inner dimension it goes to the backend's
// BatchMatMul, which splits K across workgroups (MatMulSplitK) and tiles through shared memory.
import { tf } from "../../backend/tf.js";
import { type Backend, free, runBackendKernel, type TensorInfo } from "../compose.js";
import { backpropFilterConvInfo, type Conv2DBackpropFilterAttrs } from "../conv2d-backprop-filter.js";
import { im2colProgram } from "./im2col-program.js";
import { allFloat32, rawDispatch, rawWebGpuBackend } from "./raw.js";

type Uniform = { type: "int32" | "float32"; data: number[] };
export interface WebGpuBackendLike extends Backend {
  runWebGPUProgram(program: unknown, inputs: TensorInfo[], outputDtype: string, uniforms?: Uniform[]): TensorInfo;
}

const BACKEND = "webgpu";
const TILE = 16;

// dW[(ky,kx,ci), co] = sum over m = (b,oy,ox) of x[b, oy*sh - pt + ky, ox*sw - pl + kx, ci] * dy[m, co], as an implicit
// GEMM (issue 15): the im2col matrix is never written (at bench-gan's 64x64 layers it is B*4096 x 9*Ci floats), and
// the product is one dispatch instead of im2col + matMul (+ fill and split-K). One workgroup per 16x16 output tile walks
// all of m in steps of 16, staging both operands through workgroup memory (adjacent invocations read adjacent ci / co).
// Its parallelism is the tile count, which does not grow with batch or image size: SYNTHMRI_WEBGPU_FILTER_GRAD=im2col
// selects the im2col + split-K matMul path (more workgroups on a large GPU) for comparison.
const DIRECT = `
struct U { m : u32, k : u32, co : u32, ci : u32, kw : u32, h : u32, w : u32, oh : u32, ow : u32, sh : u32, sw : u32,
           pt : i32, pl : i32 }
@group(0) @binding(0) var<storage, read_write> dw : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<storage, read> dy : array<f32>;
@group(0) @binding(3) var<uniform> u : U;
var<workgroup> xs : array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> gs : array<array<f32, ${TILE}>, ${TILE}>;
fn xcol(m : u32, k : u32) -> f32 {
  if (m >= u.m || k >= u.k) { return 0.0; }
  let ci = k % u.ci;
  let tap = k / u.ci;
  let ox = m % u.ow;
  let t = m / u.ow;
  let oy = t % u.oh;
  let b = t / u.oh;
  let iy = i32(oy * u.sh + tap / u.kw) - u.pt;
  let ix = i32(ox * u.sw + tap % u.kw) - u.pl;
  if (iy < 0 || ix < 0 || iy >= i32(u.h) || ix >= i32(u.w)) { return 0.0; }
  return x[((b * u.h + u32(iy)) * u.w + u32(ix)) * u.ci + ci];
}
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let co = wid.x * ${TILE}u + lid.x;
  let k = wid.y * ${TILE}u + lid.y;
  let k0 = wid.y * ${TILE}u;
  var acc = 0.0;
  for (var m0 = 0u; m0 < u.m; m0 = m0 + ${TILE}u) {
    xs[lid.y][lid.x] = xcol(m0 + lid.y, k0 + lid.x);
    gs[lid.y][lid.x] = select(0.0, dy[(m0 + lid.y) * u.co + co], m0 + lid.y < u.m && co < u.co);
    workgroupBarrier();
    for (var t = 0u; t < ${TILE}u; t = t + 1u) { acc = acc + xs[t][lid.y] * gs[t][lid.x]; }
    workgroupBarrier();
  }
  if (k < u.k && co < u.co) { dw[k * u.co + co] = acc; }
}`;

function directEnabled(): boolean {
  return (typeof process === "undefined" ? undefined : process.env.SYNTHMRI_WEBGPU_FILTER_GRAD) !== "im2col";
}

export function conv2dBackpropFilterWebGpu(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WebGpuBackendLike;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const [kh, kw, ci, co] = attrs.filterShape;
  const info = backpropFilterConvInfo(x, attrs, "synthmri webgpu");
  const B = x.shape[0];
  const raw = rawWebGpuBackend();
  if (raw && directEnabled() && allFloat32(raw, x as tf.TensorInfo, dy as tf.TensorInfo)) {
    const dw = raw.makeTensorInfo([kh, kw, ci, co], "float32");
    const K = kh * kw * ci;
    rawDispatch(
      raw,
      "conv2d backprop filter (implicit GEMM)",
      DIRECT,
      [dw, x as tf.TensorInfo, dy as tf.TensorInfo],
      [
        { u: B * info.outHeight * info.outWidth },
        { u: K },
        { u: co },
        { u: ci },
        { u: kw },
        { u: x.shape[1] },
        { u: x.shape[2] },
        { u: info.outHeight },
        { u: info.outWidth },
        { u: info.strideHeight },
        { u: info.strideWidth },
        { u: info.padInfo.top },
        { u: info.padInfo.left },
      ],
      [Math.ceil(co / TILE), Math.ceil(K / TILE), 1],
      [dw],
    );
    return dw as TensorInfo;
  }
  const rows = info.outHeight * info.outWidth;
  const cols = kh * kw * ci;
  const temps: TensorInfo[] = [];
  try {
    const cols3 = backend.runWebGPUProgram(im2colProgram([B, rows, cols]), [x], "float32", [
      { type: "int32", data: [info.padInfo.top, info.padInfo.left] },
      { type: "int32", data: [info.strideHeight, info.strideWidth] },
      { type: "int32", data: [info.outWidth] },
      { type: "int32", data: [kw * ci] },
      { type: "int32", data: [ci] },
    ]);
    temps.push(cols3);
    const a = runBackendKernel(tf.Reshape, BACKEND, backend, { x: cols3 }, { shape: [1, B * rows, cols] });
    temps.push(a);
    const b = runBackendKernel(tf.Reshape, BACKEND, backend, { x: dy }, { shape: [1, B * rows, co] });
    temps.push(b);
    const g = runBackendKernel(tf.BatchMatMul, BACKEND, backend, { a, b }, { transposeA: true, transposeB: false });
    temps.push(g);
    return runBackendKernel(tf.Reshape, BACKEND, backend, { x: g }, { shape: [kh, kw, ci, co] });
  } finally {
    free(backend, ...temps);
  }
}
