// Bias add + LeakyReLU for the webgpu backend (issue 15): one dispatch forward, one backward. The op graph it replaces
// is an Add and a LeakyRelu forward, and Greater + Select + Multiply (the LeakyRelu gradient) plus a transpose and a
// reduction (the bias gradient) backward: 2 + 5 dispatches per layer, ~100 of a bench-gan step. The backward writes dx
// and reduces it per channel into the bias gradient in the same kernel: one workgroup per 16 channels, 16 row lanes
// each, the lanes' sums added in workgroup memory. First-order gradients only, as the native cpu kernel (networks under
// a gradient penalty keep layers' leakyRelu). The same two kernels with tanh in place of the leaky ReLU serve a
// generator's output layer (bias + tanh: Add and Tanh forward, Square + Sub + Multiply and a reduction backward).
import { tf } from "../../backend/tf.js";
import { allFloat32, grid, type RawWebGpuBackend, rawDispatch, rawWebGpuBackend } from "./raw.js";

export const BIAS_LEAKY_WEBGPU = "SynthmriBiasLeakyWebGpu";
export const BIAS_LEAKY_GRAD_WEBGPU = "SynthmriBiasLeakyGradWebGpu";
export const BIAS_LEAKY_POOL_WEBGPU = "SynthmriBiasLeakyPoolWebGpu";
export const BIAS_LEAKY_POOL_GRAD_WEBGPU = "SynthmriBiasLeakyPoolGradWebGpu";
export const BIAS_TANH_WEBGPU = "SynthmriBiasTanhWebGpu";
export const BIAS_TANH_GRAD_WEBGPU = "SynthmriBiasTanhGradWebGpu";

type Activation = "leaky" | "tanh";
/** y from z (tanh as tfjs-backend-webgpu's own Tanh: no overflow for large |z|). */
const ACTIVATE: Record<Activation, string> = {
  leaky: "select(z * u.alpha, z, z > 0.0)",
  tanh: "sign(z) * (1.0 - exp(-2.0 * abs(z))) / (1.0 + exp(-2.0 * abs(z)))",
};
/** dz from dy[k] and y[k] (tanh: dy * (1 - y^2), as tfjs' Tanh gradient). */
const DERIVE: Record<Activation, string> = {
  leaky: "select(dy[k] * u.alpha, dy[k], y[k] > 0.0)",
  tanh: "dy[k] * (1.0 - y[k] * y[k])",
};

const LANES = 16;

const FORWARD = (act: Activation) => `
struct U { n : u32, c : u32, alpha : f32 }
@group(0) @binding(0) var<storage, read_write> y : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<storage, read> bias : array<f32>;
@group(0) @binding(3) var<uniform> u : U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.n) { return; }
  let z = x[i] + bias[i % u.c];
  y[i] = ${ACTIVATE[act]};
}`;

// Both backwards: dx per element and its per-channel sum (the bias gradient) in one kernel. Workgroup (LANES
// channels) x (LANES row lanes); barriers stay in uniform control flow (no early return). `perRow` sets d = dx[k] for
// row r, channel c, k = r * u.c + c; `fields` are extra uniforms before alpha.
const CHANNEL_REDUCE_BACKWARD = (fields: string, perRow: string) => `
struct U { rows : u32, c : u32, ${fields}alpha : f32 }
@group(0) @binding(0) var<storage, read_write> dx : array<f32>;
@group(0) @binding(1) var<storage, read_write> db : array<f32>;
@group(0) @binding(2) var<storage, read> y : array<f32>;
@group(0) @binding(3) var<storage, read> dy : array<f32>;
@group(0) @binding(4) var<uniform> u : U;
var<workgroup> red : array<array<f32, ${LANES}>, ${LANES}>;
@compute @workgroup_size(${LANES}, ${LANES})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>) {
  let c = wid.x * ${LANES}u + lid.x;
  var s = 0.0;
  if (c < u.c) {
    for (var r = lid.y; r < u.rows; r = r + ${LANES}u) {
      let k = r * u.c + c;
${perRow}
      dx[k] = d;
      s = s + d;
    }
  }
  red[lid.y][lid.x] = s;
  workgroupBarrier();
  for (var h = ${LANES / 2}u; h > 0u; h = h >> 1u) {
    if (lid.y < h) { red[lid.y][lid.x] = red[lid.y][lid.x] + red[lid.y + h][lid.x]; }
    workgroupBarrier();
  }
  if (lid.y == 0u && c < u.c) { db[c] = red[0][lid.x]; }
}`;

const BACKWARD = (act: Activation) => CHANNEL_REDUCE_BACKWARD("", `      let d = ${DERIVE[act]};`);

// Then 2x2 average pooling (a discriminator block): one invocation per pooled output writes its 2x2 block of the
// activation (kept for the backward's mask) and the block's mean, summed in layers' avgPool2x2 order.
const POOL_FORWARD = `
struct U { n : u32, c : u32, w : u32, h : u32, alpha : f32 }
@group(0) @binding(0) var<storage, read_write> pooled : array<f32>;
@group(0) @binding(1) var<storage, read_write> y : array<f32>;
@group(0) @binding(2) var<storage, read> x : array<f32>;
@group(0) @binding(3) var<storage, read> bias : array<f32>;
@group(0) @binding(4) var<uniform> u : U;
fn act(k : u32, b : f32) -> f32 {
  let z = x[k] + b;
  let a = select(z * u.alpha, z, z > 0.0);
  y[k] = a;
  return a;
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 64u;
  if (o >= u.n) { return; }
  let c = o % u.c;
  let t = o / u.c;
  let j = t % u.w;
  let t2 = t / u.w;
  let i = t2 % u.h;
  let b = t2 / u.h;
  let row = u.w * 2u * u.c;
  let k = ((b * u.h * 2u + i * 2u) * u.w * 2u + j * 2u) * u.c + c;
  let bc = bias[c];
  pooled[o] = 0.25 * (((act(k, bc) + act(k + u.c, bc)) + act(k + row, bc)) + act(k + row + u.c, bc));
}`;

// dx = 0.25 * dpooled (spread over the block) masked by the activation's sign; db its per-channel sum. Here dy is the
// gradient of the pooled output.
const POOL_BACKWARD = CHANNEL_REDUCE_BACKWARD(
  "w : u32, h : u32, ",
  `      let X = r % (2u * u.w);
      let t = r / (2u * u.w);
      let Y = t % (2u * u.h);
      let b = t / (2u * u.h);
      let g = 0.25 * dy[((b * u.h + Y / 2u) * u.w + X / 2u) * u.c + c];
      let d = select(g * u.alpha, g, y[k] > 0.0);`,
);

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

const forwardKernel =
  (act: Activation) =>
  ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const b = backend as RawWebGpuBackend;
    const { x, bias } = inputs as Record<string, tf.TensorInfo>;
    const y = b.makeTensorInfo([...x.shape], "float32");
    const n = tf.util.sizeFromShape(x.shape);
    const c = bias.shape[0];
    rawDispatch(
      b,
      `bias+${act} forward`,
      FORWARD(act),
      [y, x, bias],
      [{ u: n }, { u: c }, { f: (attrs?.alpha as number | undefined) ?? 0 }],
      grid(n),
      [y],
    );
    return y;
  };

const backwardKernel =
  (act: Activation) =>
  ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const b = backend as RawWebGpuBackend;
    const { y, dy } = inputs as Record<string, tf.TensorInfo>;
    if (!allFloat32(b, dy)) throw new Error(`bias+${act} backward: dy must hold float32 words`);
    const c = y.shape[y.shape.length - 1];
    const rows = tf.util.sizeFromShape(y.shape) / c;
    const dx = b.makeTensorInfo([...y.shape], "float32");
    const db = b.makeTensorInfo([c], "float32");
    rawDispatch(
      b,
      `bias+${act} backward`,
      BACKWARD(act),
      [dx, db, y, dy],
      [{ u: rows }, { u: c }, { f: (attrs?.alpha as number | undefined) ?? 0 }],
      [Math.ceil(c / LANES), 1, 1],
      [dx, db],
    );
    return [dx, db];
  };

function poolForwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const b = backend as RawWebGpuBackend;
  const { x, bias } = inputs as Record<string, tf.TensorInfo>;
  const [B, H, W, C] = x.shape;
  const y = b.makeTensorInfo([...x.shape], "float32");
  const pooled = b.makeTensorInfo([B, H / 2, W / 2, C], "float32");
  const n = (B * H * W * C) / 4;
  rawDispatch(
    b,
    "bias+leaky+pool forward",
    POOL_FORWARD,
    [pooled, y, x, bias],
    [{ u: n }, { u: C }, { u: W / 2 }, { u: H / 2 }, { f: attrs?.alpha as number }],
    grid(n),
    [pooled, y],
  );
  return [pooled, y];
}

function poolBackwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const b = backend as RawWebGpuBackend;
  const { y, dy } = inputs as Record<string, tf.TensorInfo>;
  if (!allFloat32(b, dy)) throw new Error(`${BIAS_LEAKY_POOL_GRAD_WEBGPU}: dy must hold float32 words`);
  const [B, H, W, C] = y.shape;
  const dx = b.makeTensorInfo([...y.shape], "float32");
  const db = b.makeTensorInfo([C], "float32");
  rawDispatch(
    b,
    "bias+leaky+pool backward",
    POOL_BACKWARD,
    [dx, db, y, dy],
    [{ u: B * H * W }, { u: C }, { u: W / 2 }, { u: H / 2 }, { f: attrs?.alpha as number }],
    [Math.ceil(C / LANES), 1, 1],
    [dx, db],
  );
  return [dx, db];
}

/** Kernel configs of the webgpu backend (registered by registerWebGpuKernels). */
export const biasLeakyWebGpuKernels: tf.KernelConfig[] = [
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: BIAS_LEAKY_POOL_WEBGPU, backendName: "webgpu", kernelFunc: poolForwardKernel as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: BIAS_LEAKY_POOL_GRAD_WEBGPU, backendName: "webgpu", kernelFunc: poolBackwardKernel as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: BIAS_LEAKY_WEBGPU, backendName: "webgpu", kernelFunc: forwardKernel("leaky") as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: BIAS_LEAKY_GRAD_WEBGPU, backendName: "webgpu", kernelFunc: backwardKernel("leaky") as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: BIAS_TANH_WEBGPU, backendName: "webgpu", kernelFunc: forwardKernel("tanh") as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: BIAS_TANH_GRAD_WEBGPU, backendName: "webgpu", kernelFunc: backwardKernel("tanh") as any },
];

/** `kernel` on (x, bias) with `grad` on (its output, dy) as the gradient: both activations need only y. */
function biasActivation<T extends tf.Tensor>(
  kernel: string,
  grad: string,
  x: T,
  bias: tf.Tensor1D,
  attrs: tf.NamedAttrMap,
): T | null {
  const backend = rawWebGpuBackend();
  if (!backend || !tf.getKernel(kernel, "webgpu")) return null;
  if (x.rank < 1 || x.size === 0 || bias.size !== x.shape[x.rank - 1]) return null;
  if (!allFloat32(backend, x, bias)) return null;
  const f = tf.customGrad((xi, b, save) => {
    const value = tf.engine().runKernel(kernel, { x: xi as tf.Tensor, bias: b as tf.Tensor }, attrs) as T;
    (save as tf.GradSaveFunc)([value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(grad, { y: saved[0], dy }, attrs) as tf.Tensor[],
    };
  });
  return f(x, bias) as T;
}

/**
 * leakyRelu(x + bias, alpha), bias over the last axis, alpha in (0, 1], with first-order gradients for x and the bias,
 * on the webgpu backend's fused kernels; null when they are not in use (another backend, fusion off, shapes or dtypes
 * they do not take), so the caller runs its own path. The gradient needs only the sign of the output (alpha > 0 keeps
 * it the sign of x + bias).
 */
export function biasLeakyReluWebGpu<T extends tf.Tensor>(x: T, bias: tf.Tensor1D, alpha: number): T | null {
  if (!(alpha > 0)) return null;
  return biasActivation(BIAS_LEAKY_WEBGPU, BIAS_LEAKY_GRAD_WEBGPU, x, bias, { alpha });
}

/**
 * tanh(x + bias), bias over the last axis (a generator's output layer), with first-order gradients for x and the bias
 * (tanh' = 1 - y^2): one dispatch each way on webgpu; null when not in use (see biasLeakyReluWebGpu).
 */
export function biasTanhWebGpu<T extends tf.Tensor>(x: T, bias: tf.Tensor1D): T | null {
  return biasActivation(BIAS_TANH_WEBGPU, BIAS_TANH_GRAD_WEBGPU, x, bias, {});
}

/**
 * avgPool2x2(leakyRelu(x + bias, alpha)), x [B,H,W,C] with H, W even: one dispatch each way on webgpu (the activation
 * is kept for the backward's mask), first-order gradients for x and the bias; null when not in use (see
 * biasLeakyReluWebGpu).
 */
export function biasLeakyReluPool2x2WebGpu(x: tf.Tensor4D, bias: tf.Tensor1D, alpha: number): tf.Tensor4D | null {
  const backend = rawWebGpuBackend();
  if (!backend || x.rank !== 4 || !tf.getKernel(BIAS_LEAKY_POOL_WEBGPU, "webgpu")) return null;
  const [, H, W, C] = x.shape;
  if (H % 2 !== 0 || W % 2 !== 0 || x.size === 0 || bias.size !== C || !(alpha > 0)) return null;
  if (!allFloat32(backend, x, bias)) return null;
  const attrs = { alpha };
  const f = tf.customGrad((xi, b, save) => {
    const [pooled, y] = tf
      .engine()
      .runKernel(BIAS_LEAKY_POOL_WEBGPU, { x: xi as tf.Tensor, bias: b as tf.Tensor }, attrs) as tf.Tensor[];
    (save as tf.GradSaveFunc)([y]); // a clone is kept while the tape needs it
    y.dispose();
    return {
      value: pooled,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(BIAS_LEAKY_POOL_GRAD_WEBGPU, { y: saved[0], dy }, attrs) as tf.Tensor[],
    };
  });
  return f(x, bias) as tf.Tensor4D;
}
