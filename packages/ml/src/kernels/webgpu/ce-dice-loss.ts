// The U-Net's loss of one head, CE + (1 - mean foreground soft Dice, batch Dice), for the webgpu backend: forward in
// two dispatches (per-workgroup partial sums over pixels, then one workgroup that adds them and writes the loss and
// the global sums), backward in one (each pixel's logit gradient from its softmax and the saved global sums). The op
// graph it replaces (unet/loss.ts ceDiceLossReference: logSoftmax, slices, sums, Dice ratio, and their gradients) is
// ~40 dispatches per head.
//   CE = -(1/N) sum_pixels sum_c g_c log p_c;  dice_c = (2 I_c + s) / (P_c + G_c + s), c = 1..C-1;
//   dL/dp_c (Dice) = -(1/F) (2 g_c den_c - num_c) / den_c^2;  dL/dz_k = (p_k sum_c g_c - g_k)/N + p_k (d_k - sum_c p_c d_c)
import { tf } from "../../backend/tf.js";
import { allFloat32, bufferDtype, grid, type RawWebGpuBackend, rawDispatch, rawWebGpuBackend } from "./raw.js";

export const CE_DICE_WEBGPU = "SynthmriCeDiceLossWebGpu";
export const CE_DICE_GRAD_WEBGPU = "SynthmriCeDiceLossGradWebGpu";
/** Classes the kernels take (the per-class sums live in workgroup memory). */
export const CE_DICE_MAX_CLASSES = 16;

const WG = 64;
const MAX_GROUPS = 256;

// Per pixel: softmax of its C logits (max-shifted), log p, and the running sums CE, I_c, P_c, G_c.
const softmax = (C: number) => `
  var z : array<f32, ${C}>;
  var m = -3.4e38;
  for (var c = 0u; c < ${C}u; c = c + 1u) { z[c] = logits[i * ${C}u + c]; m = max(m, z[c]); }
  var se = 0.0;
  for (var c = 0u; c < ${C}u; c = c + 1u) { se = se + exp(z[c] - m); }
  let lse = m + log(se);`;

// One-hot targets cast from int32 keep int32 words on this backend (raw.ts bufferDtype): read them as such.
const targetType = (b: RawWebGpuBackend, t: tf.TensorInfo) => (bufferDtype(b, t) === "int32" ? "i32" : "f32");

const partialsCode = (C: number, gType: string) => {
  const K = 1 + 3 * C;
  return `
struct U { n : u32 }
@group(0) @binding(0) var<storage, read_write> part : array<f32>;
@group(0) @binding(1) var<storage, read> logits : array<f32>;
@group(0) @binding(2) var<storage, read> onehot : array<${gType}>;
@group(0) @binding(3) var<uniform> u : U;
var<workgroup> red : array<f32, ${WG * K}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  var acc : array<f32, ${K}>;
  for (var k = 0u; k < ${K}u; k = k + 1u) { acc[k] = 0.0; }
  let stride = nwg.x * ${WG}u;
  for (var i = wid.x * ${WG}u + lid; i < u.n; i = i + stride) {${softmax(C)}
    for (var c = 0u; c < ${C}u; c = c + 1u) {
      let g = f32(onehot[i * ${C}u + c]);
      let p = exp(z[c] - lse);
      acc[0] = acc[0] + g * (z[c] - lse);
      acc[1u + c] = acc[1u + c] + p * g;
      acc[1u + ${C}u + c] = acc[1u + ${C}u + c] + p;
      acc[1u + ${2 * C}u + c] = acc[1u + ${2 * C}u + c] + g;
    }
  }
  for (var k = 0u; k < ${K}u; k = k + 1u) { red[k * ${WG}u + lid] = acc[k]; }
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      for (var k = 0u; k < ${K}u; k = k + 1u) { red[k * ${WG}u + lid] = red[k * ${WG}u + lid] + red[k * ${WG}u + lid + s]; }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    for (var k = 0u; k < ${K}u; k = k + 1u) { part[wid.x * ${K}u + k] = red[k * ${WG}u]; }
  }
}`;
};

const finishCode = (C: number) => {
  const K = 1 + 3 * C;
  return `
struct U { n : u32, groups : u32, eps : f32 }
@group(0) @binding(0) var<storage, read_write> loss : array<f32>;
@group(0) @binding(1) var<storage, read_write> stats : array<f32>;
@group(0) @binding(2) var<storage, read> part : array<f32>;
@group(0) @binding(3) var<uniform> u : U;
var<workgroup> tot : array<f32, ${K}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid : u32) {
  for (var k = lid; k < ${K}u; k = k + ${WG}u) {
    var s = 0.0;
    for (var w = 0u; w < u.groups; w = w + 1u) { s = s + part[w * ${K}u + k]; }
    tot[k] = s;
    stats[k] = s;
  }
  workgroupBarrier();
  if (lid == 0u) {
    var dice = 0.0;
    for (var c = 1u; c < ${C}u; c = c + 1u) {
      dice = dice + (2.0 * tot[1u + c] + u.eps) / (tot[1u + ${C}u + c] + tot[1u + ${2 * C}u + c] + u.eps);
    }
    loss[0] = -tot[0] / f32(u.n) + (1.0 - dice / f32(${C - 1}));
  }
}`;
};

const gradCode = (C: number, gType: string) => `
struct U { n : u32, eps : f32 }
@group(0) @binding(0) var<storage, read_write> dz : array<f32>;
@group(0) @binding(1) var<storage, read> logits : array<f32>;
@group(0) @binding(2) var<storage, read> onehot : array<${gType}>;
@group(0) @binding(3) var<storage, read> stats : array<f32>;
@group(0) @binding(4) var<storage, read> dy : array<f32>;
@group(0) @binding(5) var<uniform> u : U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= u.n) { return; }${softmax(C)}
  var p : array<f32, ${C}>;
  var d : array<f32, ${C}>;
  var gs = 0.0;
  var pd = 0.0;
  for (var c = 0u; c < ${C}u; c = c + 1u) {
    p[c] = exp(z[c] - lse);
    let g = f32(onehot[i * ${C}u + c]);
    gs = gs + g;
    d[c] = 0.0;
    if (c > 0u) {
      let num = 2.0 * stats[1u + c] + u.eps;
      let den = stats[1u + ${C}u + c] + stats[1u + ${2 * C}u + c] + u.eps;
      d[c] = -(2.0 * g * den - num) / (den * den) / f32(${C - 1});
    }
    pd = pd + p[c] * d[c];
  }
  let scale = dy[0];
  for (var c = 0u; c < ${C}u; c = c + 1u) {
    let g = f32(onehot[i * ${C}u + c]);
    dz[i * ${C}u + c] = scale * ((p[c] * gs - g) / f32(u.n) + p[c] * (d[c] - pd));
  }
}`;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function forwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const b = backend as RawWebGpuBackend;
  const { logits, onehot } = inputs as Record<string, tf.TensorInfo>;
  const C = logits.shape[3];
  const n = logits.shape[0] * logits.shape[1] * logits.shape[2];
  const K = 1 + 3 * C;
  const groups = Math.min(MAX_GROUPS, Math.max(1, Math.ceil(n / (WG * 4))));
  const part = b.makeTensorInfo([groups * K], "float32");
  const loss = b.makeTensorInfo([], "float32");
  const stats = b.makeTensorInfo([K], "float32");
  try {
    rawDispatch(
      b,
      "ce+dice loss partial sums",
      partialsCode(C, targetType(b, onehot)),
      [part, logits, onehot],
      [{ u: n }],
      [groups, 1, 1],
      [part],
    );
    rawDispatch(
      b,
      "ce+dice loss finish",
      finishCode(C),
      [loss, stats, part],
      [{ u: n }, { u: groups }, { f: attrs?.smooth as number }],
      [1, 1, 1],
      [loss, stats],
    );
  } finally {
    (b as unknown as { disposeData(id: object): void }).disposeData(part.dataId);
  }
  return [loss, stats];
}

function backwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const b = backend as RawWebGpuBackend;
  const { logits, onehot, stats, dy } = inputs as Record<string, tf.TensorInfo>;
  const C = logits.shape[3];
  const n = logits.shape[0] * logits.shape[1] * logits.shape[2];
  const dz = b.makeTensorInfo([...logits.shape], "float32");
  rawDispatch(
    b,
    "ce+dice loss backward",
    gradCode(C, targetType(b, onehot)),
    [dz, logits, onehot, stats, dy],
    [{ u: n }, { f: attrs?.smooth as number }],
    grid(n),
    [dz],
  );
  return dz;
}

/** Kernel configs of the webgpu backend (registered by registerWebGpuKernels). */
export const ceDiceWebGpuKernels: tf.KernelConfig[] = [
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: CE_DICE_WEBGPU, backendName: "webgpu", kernelFunc: forwardKernel as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: CE_DICE_GRAD_WEBGPU, backendName: "webgpu", kernelFunc: backwardKernel as any },
];

/** True when ceDiceLossWebGpu will run fused kernels (webgpu current, fusion on, kernels registered). */
export function ceDiceLossWebGpuActive(): boolean {
  return rawWebGpuBackend() != null && tf.getKernel(CE_DICE_WEBGPU, "webgpu") != null;
}

/**
 * CE + (1 - mean foreground soft Dice) of one head, logits and one-hot targets [B,H,W,C] float32, with the gradient
 * for the logits (the targets get none); null when the fused kernels are not in use.
 */
export function ceDiceLossWebGpu(logits: tf.Tensor4D, oneHot: tf.Tensor4D, smooth: number): tf.Scalar | null {
  const C = logits.shape[3];
  const backend = rawWebGpuBackend();
  if (!backend || !tf.getKernel(CE_DICE_WEBGPU, "webgpu") || !allFloat32(backend, logits)) return null;
  if (oneHot.dtype !== "float32" || !["float32", "int32"].includes(bufferDtype(backend, oneHot))) return null;
  if (C < 2 || C > CE_DICE_MAX_CLASSES || logits.size === 0 || !tf.util.arraysEqual(logits.shape, oneHot.shape))
    return null;
  const attrs = { smooth };
  const f = tf.customGrad((z, g, save) => {
    const [loss, stats] = tf
      .engine()
      .runKernel(CE_DICE_WEBGPU, { logits: z as tf.Tensor, onehot: g as tf.Tensor }, attrs) as tf.Tensor[];
    (save as tf.GradSaveFunc)([z as tf.Tensor, g as tf.Tensor, stats]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf
          .engine()
          .runKernel(
            CE_DICE_GRAD_WEBGPU,
            { logits: saved[0], onehot: saved[1], stats: saved[2], dy },
            attrs,
          ) as tf.Tensor,
        // The targets are data: a host-side zero array, never uploaded (tf.zerosLike would cost a Fill dispatch).
        tf.tensor(new Float32Array(saved[1].size), saved[1].shape),
      ],
    };
  });
  return f(logits, oneHot) as tf.Scalar;
}
