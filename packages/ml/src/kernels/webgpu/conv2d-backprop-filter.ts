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

type Uniform = { type: "int32" | "float32"; data: number[] };
export interface WebGpuBackendLike extends Backend {
  runWebGPUProgram(program: unknown, inputs: TensorInfo[], outputDtype: string, uniforms?: Uniform[]): TensorInfo;
}

const BACKEND = "webgpu";

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
