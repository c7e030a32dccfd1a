// Conv2DBackpropInput as a forward convolution: the stock wasm kernel is 7-10x slower than the
// forward conv it differentiates. dx = conv2d(dy zero-inserted by the stride, filter rotated 180° with
// in/out channels swapped), padded so the output is exactly the input size. Stride 2 wastes the zero
// taps and is still 1.7-3.3x faster than the stock wasm kernel at the bench-unet stride-2 shapes.
import { tf } from "../backend/tf.js";
import { type Backend, free, runBackendKernel, type TensorInfo } from "./compose.js";

interface Attrs {
  strides: number | [number, number];
  pad: "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  inputShape: [number, number, number, number];
}

export function makeConv2DBackpropInput(backendName: string, stock: ((args: unknown) => TensorInfo) | null) {
  return (args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: Backend; attrs: Attrs }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    if (attrs.dataFormat && attrs.dataFormat !== "NHWC") {
      if (stock) return stock(args);
      throw new Error(`Conv2DBackpropInput (synthmri): only NHWC is supported, got ${attrs.dataFormat}`);
    }
    const [kh, kw, ci, co] = filter.shape;
    const [B, H, W] = attrs.inputShape;
    const info = tf.backend_util.computeConv2DInfo(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const pt = kh - 1 - info.padInfo.top;
    const pl = kw - 1 - info.padInfo.left;
    const Hz = oh * sh;
    const Wz = ow * sw;
    const pb = H - Hz - pt + kh - 1;
    const pr = W - Wz - pl + kw - 1;
    if (pt < 0 || pl < 0 || pb < 0 || pr < 0) {
      if (stock) return stock(args);
      throw new Error(`Conv2DBackpropInput (synthmri): unsupported padding ${JSON.stringify(attrs.pad)}`);
    }
    const temps: TensorInfo[] = [];
    try {
      let dz = dy;
      if (sh > 1 || sw > 1) {
        const r6 = runBackendKernel(tf.Reshape, backendName, backend, { x: dy }, { shape: [B, oh, 1, ow, 1, co] });
        temps.push(r6);
        const p6 = runBackendKernel(
          tf.PadV2,
          backendName,
          backend,
          { x: r6 },
          {
            paddings: [
              [0, 0],
              [0, 0],
              [0, sh - 1],
              [0, 0],
              [0, sw - 1],
              [0, 0],
            ],
            constantValue: 0,
          },
        );
        temps.push(p6);
        dz = runBackendKernel(tf.Reshape, backendName, backend, { x: p6 }, { shape: [B, Hz, Wz, co] });
        temps.push(dz);
      }
      const rev = runBackendKernel(tf.Reverse, backendName, backend, { x: filter }, { dims: [0, 1] });
      temps.push(rev);
      const wT = runBackendKernel(tf.Transpose, backendName, backend, { x: rev }, { perm: [0, 1, 3, 2] });
      temps.push(wT);
      const samePad = pt === pb && pl === pr && pt === (kh - 1) / 2 && pl === (kw - 1) / 2;
      // 'same' when it is exactly that: the wasm conv is markedly faster with it than with explicit pads.
      const pad = samePad
        ? "same"
        : [
            [0, 0],
            [pt, pb],
            [pl, pr],
            [0, 0],
          ];
      const out = runBackendKernel(
        tf.Conv2D,
        backendName,
        backend,
        { x: dz, filter: wT },
        { strides: [1, 1], pad, dataFormat: "NHWC", dilations: [1, 1] },
      );
      if (out.shape[1] !== H || out.shape[2] !== W || out.shape[3] !== ci) {
        temps.push(out);
        throw new Error(`Conv2DBackpropInput (synthmri): internal shape [${out.shape}] != [${B},${H},${W},${ci}]`);
      }
      return out;
    } finally {
      free(backend, ...temps);
    }
  };
}
