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
import { allFloat32, grid, rawDispatch, rawWebGpuBackend } from "./raw.js";

type Uniform = { type: "int32" | "float32"; data: number[] };
export interface WebGpuBackendLike extends Backend {
  runWebGPUProgram(program: unknown, inputs: TensorInfo[], outputDtype: string, uniforms?: Uniform[]): TensorInfo;
}

const BACKEND = "webgpu";

// dW[(ky,kx,ci), co] = sum over m = (b,oy,ox) of x[b, oy*sh - pt + ky, ox*sw - pl + kx, ci] * dy[m, co], as an implicit
// GEMM (issue 15): the im2col matrix is never written (at bench-gan's 64x64 layers it is B*4096 x 9*Ci floats), and
// the product is one dispatch instead of im2col + matMul (+ fill and split-K). One invocation per weight walks all of m
// (adjacent invocations: adjacent co, so dy reads coalesce and x reads broadcast; no workgroup barriers, which lavapipe
// pays dearly for). Its parallelism is K*Co, which does not grow with batch or image size: this is the stock kernel's
// shape, which the im2col + split-K matMul below replaced for a large GPU's sake. Opt-in (SYNTHMRI_WEBGPU_FILTER_GRAD=
// direct) until bench/gpu.sh has timed both on a GPU: it cuts bench-gan's dispatches from 185 to 167 per step, but on
// lavapipe (2 cores) a bench-unet step took 6.5 s with it against 2.0 s with im2col.
const DIRECT = `
struct U { m : u32, k : u32, co : u32, ci : u32, kw : u32, h : u32, w : u32, oh : u32, ow : u32, sh : u32, sw : u32,
           pt : i32, pl : i32 }
@group(0) @binding(0) var<storage, read_write> dw : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<storage, read> dy : array<f32>;
@group(0) @binding(3) var<uniform> u : U;
fn xat(m : u32, tap : u32, ci : u32) -> f32 {
  let ox = m % u.ow;
  let t = m / u.ow;
  let oy = t % u.oh;
  let b = t / u.oh;
  let iy = i32(oy * u.sh + tap / u.kw) - u.pt;
  let ix = i32(ox * u.sw + tap % u.kw) - u.pl;
  if (iy < 0 || ix < 0 || iy >= i32(u.h) || ix >= i32(u.w)) { return 0.0; }
  return x[((b * u.h + u32(iy)) * u.w + u32(ix)) * u.ci + ci];
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 64u;
  if (o >= u.k * u.co) { return; }
  let co = o % u.co;
  let k = o / u.co;
  let ci = k % u.ci;
  let tap = k / u.ci;
  var acc = 0.0;
  for (var m = 0u; m < u.m; m = m + 1u) { acc = acc + xat(m, tap, ci) * dy[m * u.co + co]; }
  dw[o] = acc;
}`;

function directEnabled(): boolean {
  return (typeof process === "undefined" ? undefined : process.env.SYNTHMRI_WEBGPU_FILTER_GRAD) === "direct";
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
      grid(K * co),
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
