// Export of a trained U-Net as an ONNX model, so other serving stacks (onnxruntime, Triton, MONAI Deploy) can run
// it. The graph is written op by op from the same parameters the tfjs net uses (onnx-proto's generated protobuf
// code encodes it): no converter, no Python. Layout NCHW, the ONNX convention: input "input" [N, inChannels, H, W]
// (z-scored sequences T1, T1Gd, T2, FLAIR, as the segmenter feeds the tfjs net), output "logits"
// [N, numClasses, H, W] (background, NCR, ED, ET; argmax over axis 1 gives the internal labels). H and W must be
// divisible by 2^(levels-1), as for the tfjs net.
import { createRequire } from "node:module";
import type { onnx as OnnxTypes } from "onnx-proto";
import type { UNet } from "./model.js";

// onnx-proto is CommonJS whose namespace Node's ESM loader cannot see as a named export. Loaded on first export, not at
// import: bundles of @synthmri/ml that never export ONNX (bench/gpu-pack.sh's device pack) do not carry it.
const loadOnnx = () => (createRequire(import.meta.url)("onnx-proto") as { onnx: typeof OnnxTypes }).onnx;

/** The opset the graph is written for (InstanceNormalization, LeakyRelu, Conv, ConvTranspose, Concat). */
export const ONNX_OPSET = 17;
const IR_VERSION = 8;
const FLOAT = 1;
const EPS = 1e-5;

/** [kH, kW, Cin, Cout] (tfjs conv2d) -> [Cout, Cin, kH, kW] (ONNX Conv). */
function convWeight(w: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = w[((y * kw + x) * cin + i) * cout + o];
  return out;
}

/** [2, 2, Cout, Cin] (tfjs conv2dTranspose layout, see layers/ops convTranspose2x2) -> [Cin, Cout, 2, 2] (ONNX). */
function convTransposeWeight(w: Float32Array, [kh, kw, cout, cin]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let o = 0; o < cout; o++)
        for (let i = 0; i < cin; i++) out[((i * cout + o) * kh + y) * kw + x] = w[((y * kw + x) * cout + o) * cin + i];
  return out;
}

export interface OnnxExportOptions {
  /** graph name and doc string */
  name?: string;
  /** extra key/value metadata (model id, version, label scheme...) */
  metadata?: Record<string, string>;
}

/** The U-Net's inference graph (the main head only) as ONNX model bytes. */
export function exportUNetToOnnx(model: UNet, options: OnnxExportOptions = {}): Uint8Array {
  const { widths, inChannels, numClasses, leakySlope } = model.config;
  const initializers: OnnxTypes.ITensorProto[] = [];
  const nodes: OnnxTypes.INodeProto[] = [];
  const param = (name: string) => {
    const t = model.params.get(name);
    return { data: t.dataSync() as Float32Array, shape: t.shape };
  };
  const addInit = (name: string, dims: number[], data: Float32Array) => {
    initializers.push({
      name,
      dims,
      dataType: FLOAT,
      rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    });
    return name;
  };
  const attrInt = (name: string, i: number): OnnxTypes.IAttributeProto => ({ name, type: 2, i });
  const attrFloat = (name: string, f: number): OnnxTypes.IAttributeProto => ({ name, type: 1, f });
  const attrInts = (name: string, ints: number[]): OnnxTypes.IAttributeProto => ({ name, type: 7, ints });
  const attrString = (name: string, s: string): OnnxTypes.IAttributeProto => ({
    name,
    type: 3,
    s: new TextEncoder().encode(s),
  });

  const conv = (name: string, x: string, stride: number, k: number): string => {
    const w = param(`${name}.w`);
    const b = param(`${name}.b`);
    const [kh, kw, cin, cout] = w.shape;
    const wn = addInit(`${name}.w`, [cout, cin, kh, kw], convWeight(w.data, w.shape));
    const bn = addInit(`${name}.b`, [cout], b.data);
    const out = `${name}.out`;
    nodes.push({
      name,
      opType: "Conv",
      input: [x, wn, bn],
      output: [out],
      attribute: [
        attrInts("kernel_shape", [k, k]),
        attrInts("strides", [stride, stride]),
        // tfjs "same": the extra row/column of an even input at stride 2 goes at the end, as SAME_UPPER does.
        ...(k > 1 ? [attrString("auto_pad", "SAME_UPPER")] : [attrInts("pads", [0, 0, 0, 0])]),
      ],
    });
    return out;
  };
  const block = (name: string, x: string, stride: number): string => {
    const y = conv(`${name}.conv`, x, stride, 3);
    const g = addInit(`${name}.norm.g`, [param(`${name}.norm.g`).shape[0]], param(`${name}.norm.g`).data);
    const b = addInit(`${name}.norm.b`, [param(`${name}.norm.b`).shape[0]], param(`${name}.norm.b`).data);
    nodes.push({
      name: `${name}.norm`,
      opType: "InstanceNormalization",
      input: [y, g, b],
      output: [`${name}.norm.out`],
      attribute: [attrFloat("epsilon", EPS)],
    });
    nodes.push({
      name: `${name}.act`,
      opType: "LeakyRelu",
      input: [`${name}.norm.out`],
      output: [`${name}.act.out`],
      attribute: [attrFloat("alpha", leakySlope)],
    });
    return `${name}.act.out`;
  };

  let y = "input";
  const skips: string[] = [];
  for (let i = 0; i < widths.length; i++) {
    y = block(`enc${i}.0`, y, i === 0 ? 1 : 2);
    y = block(`enc${i}.1`, y, 1);
    skips.push(y);
  }
  for (let d = widths.length - 2; d >= 0; d--) {
    const w = param(`dec${d}.up.w`);
    const b = param(`dec${d}.up.b`);
    const [kh, kw, cout, cin] = w.shape;
    const wn = addInit(`dec${d}.up.w`, [cin, cout, kh, kw], convTransposeWeight(w.data, w.shape));
    const bn = addInit(`dec${d}.up.b`, [cout], b.data);
    nodes.push({
      name: `dec${d}.up`,
      opType: "ConvTranspose",
      input: [y, wn, bn],
      output: [`dec${d}.up.out`],
      attribute: [attrInts("kernel_shape", [2, 2]), attrInts("strides", [2, 2])],
    });
    nodes.push({
      name: `dec${d}.concat`,
      opType: "Concat",
      input: [`dec${d}.up.out`, skips[d]],
      output: [`dec${d}.concat.out`],
      attribute: [attrInt("axis", 1)],
    });
    y = block(`dec${d}.0`, `dec${d}.concat.out`, 1);
    y = block(`dec${d}.1`, y, 1);
  }
  const head = conv("dec0.head", y, 1, 1);
  nodes.push({ name: "output", opType: "Identity", input: [head], output: ["logits"] });

  const tensorType = (channels: number): OnnxTypes.ITypeProto => ({
    tensorType: {
      elemType: FLOAT,
      shape: { dim: [{ dimParam: "N" }, { dimValue: channels }, { dimParam: "H" }, { dimParam: "W" }] },
    },
  });
  const name = options.name ?? "synthmri_unet";
  const onnx = loadOnnx();
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: ONNX_OPSET }],
      producerName: "synthmri",
      producerVersion: "1",
      docString:
        "nnU-Net-style 2-D U-Net. input [N,4,H,W]: z-scored T1, T1Gd, T2, FLAIR (H, W divisible by " +
        `${2 ** (widths.length - 1)}); logits [N,4,H,W]: background, NCR, ED, ET (argmax over axis 1).`,
      metadataProps: Object.entries({
        in_channels: String(inChannels),
        num_classes: String(numClasses),
        size_multiple: String(2 ** (widths.length - 1)),
        layout: "NCHW",
        ...(model.config.inputSize ? { input_size: model.config.inputSize.join("x") } : {}),
        ...options.metadata,
      }).map(([key, value]) => ({ key, value })),
      graph: {
        name,
        node: nodes,
        initializer: initializers,
        input: [{ name: "input", type: tensorType(inChannels) }],
        output: [{ name: "logits", type: tensorType(numClasses) }],
      },
    }),
  ).finish();
  return bytes;
}
