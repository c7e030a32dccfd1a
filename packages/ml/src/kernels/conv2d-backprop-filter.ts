// Conv2DBackpropFilter as a forward convolution (missing on wasm; 60-80x slower than forward on cpu).
// dW[kh,kw,ci,co] = sum_{b,oh,ow} x[b, oh*s + kh - pt, ow*s + kw - pl, ci] * dy[b,oh,ow,co]
// is a stride-1 convolution of x^T [Ci,H,W,B] with dy^T [oh,ow,B,Co] used as filter, dilated by the
// forward stride: its output [Ci,kh,kw,Co] transposes to the filter gradient. It reuses the backend's
// own optimized Conv2D (XNNPACK on wasm), so the weight gradient costs about one forward conv.
import { tf } from "../backend/tf.js";
import { type Backend, free, runBackendKernel, type TensorInfo } from "./compose.js";

export interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number];
  pad: "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
}
type Attrs = Conv2DBackpropFilterAttrs;

/** The forward conv's geometry (NHWC only; `who` names the kernel in the error). Shared by the cpu/wasm and webgpu kernels. */
export function backpropFilterConvInfo(x: TensorInfo, attrs: Attrs, who: string): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat && attrs.dataFormat !== "NHWC") {
    throw new Error(`Conv2DBackpropFilter (${who}): only NHWC is supported, got ${attrs.dataFormat}`);
  }
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

export function makeConv2DBackpropFilter(backendName: string) {
  return (args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: Backend; attrs: Attrs }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x, dy } = inputs;
    const [kh, kw, ci, co] = attrs.filterShape;
    const info = backpropFilterConvInfo(x, attrs, "synthmri");
    const [B, H, W] = x.shape;
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const pt = info.padInfo.top;
    const pl = info.padInfo.left;
    // Bottom/right padding that makes the gradient conv output exactly kh x kw; negative means rows
    // of x that the forward conv never read (crop them).
    let pb = kh + (oh - 1) * sh - H - pt;
    let pr = kw + (ow - 1) * sw - W - pl;
    const temps: TensorInfo[] = [];
    let xs = x;
    if (pb < 0 || pr < 0) {
      xs = runBackendKernel(
        tf.Slice,
        backendName,
        backend,
        { x },
        { begin: [0, 0, 0, 0], size: [B, H + Math.min(pb, 0), W + Math.min(pr, 0), ci] },
      );
      temps.push(xs);
      pb = Math.max(pb, 0);
      pr = Math.max(pr, 0);
    }
    try {
      const xT = runBackendKernel(tf.Transpose, backendName, backend, { x: xs }, { perm: [3, 1, 2, 0] });
      temps.push(xT);
      const dyT = runBackendKernel(tf.Transpose, backendName, backend, { x: dy }, { perm: [1, 2, 0, 3] });
      temps.push(dyT);
      const g = runBackendKernel(
        tf.Conv2D,
        backendName,
        backend,
        { x: xT, filter: dyT },
        {
          strides: [1, 1],
          pad: [
            [0, 0],
            [pt, pb],
            [pl, pr],
            [0, 0],
          ],
          dataFormat: "NHWC",
          dilations: [sh, sw],
        },
      );
      temps.push(g);
      if (g.shape[0] !== ci || g.shape[1] !== kh || g.shape[2] !== kw || g.shape[3] !== co) {
        throw new Error(`Conv2DBackpropFilter (synthmri): internal shape [${g.shape}] != [${ci},${kh},${kw},${co}]`);
      }
      return runBackendKernel(tf.Transpose, backendName, backend, { x: g }, { perm: [1, 2, 0, 3] });
    } finally {
      free(backend, ...temps);
    }
  };
}
