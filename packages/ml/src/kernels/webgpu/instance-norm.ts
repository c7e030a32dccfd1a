// Instance norm + LeakyReLU (NHWC) for the webgpu backend: forward in one dispatch, backward in two (issue 15). The
// op graph it replaces (moments through transposes, sub, square, sqrt, div, affine, leakyRelu; then their gradients)
// is ~15 dispatches forward and ~30 backward per conv block. One workgroup per (sample, channel) walks the H*W
// positions three times (mean, variance, output), so the moments are two-pass as in the op graph. The backward
// recomputes the moments from x (nothing saved but the inputs, as the native cpu kernel does) and writes per-sample
// partial sums for dgamma and dbeta that the second dispatch adds over the batch.
import { tf } from "../../backend/tf.js";
import { allFloat32, grid, type RawWebGpuBackend, rawDispatch, rawWebGpuBackend } from "./raw.js";

export const INSTANCE_NORM_WEBGPU = "SynthmriInstanceNormWebGpu";
export const INSTANCE_NORM_GRAD_WEBGPU = "SynthmriInstanceNormGradWebGpu";

const WG = 64;

const HEADER = `
struct U { hw : u32, c : u32, groups : u32, eps : f32, alpha : f32 }
var<workgroup> red : array<f32, ${WG}>;
fn reduceSum(v : f32, lid : u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

// Shared by both kernels: the (sample, channel) of this workgroup and its two-pass moments.
const MOMENTS = `
  let bc = wid.x + wid.y * nwg.x;
  if (bc >= u.groups) { return; }
  let c = bc % u.c;
  let base = (bc / u.c) * u.hw * u.c + c;
  var s = 0.0;
  for (var i = lid; i < u.hw; i = i + ${WG}u) { s = s + x[base + i * u.c]; }
  let mean = reduceSum(s, lid) / f32(u.hw);
  var q = 0.0;
  for (var i = lid; i < u.hw; i = i + ${WG}u) { let d = x[base + i * u.c] - mean; q = q + d * d; }
  let sd = sqrt(reduceSum(q, lid) / f32(u.hw) + u.eps);
  let g = gamma[c];
  let be = beta[c];`;

const ENTRY = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {`;

const FORWARD = `${HEADER}
@group(0) @binding(0) var<storage, read_write> y : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<storage, read> gamma : array<f32>;
@group(0) @binding(3) var<storage, read> beta : array<f32>;
@group(0) @binding(4) var<uniform> u : U;
${ENTRY}${MOMENTS}
  for (var i = lid; i < u.hw; i = i + ${WG}u) {
    let k = base + i * u.c;
    let z = (x[k] - mean) / sd * g + be;
    y[k] = select(z * u.alpha, z, z > 0.0);
  }
}`;

const BACKWARD = `${HEADER}
@group(0) @binding(0) var<storage, read_write> dx : array<f32>;
@group(0) @binding(1) var<storage, read_write> part : array<f32>;
@group(0) @binding(2) var<storage, read> x : array<f32>;
@group(0) @binding(3) var<storage, read> gamma : array<f32>;
@group(0) @binding(4) var<storage, read> beta : array<f32>;
@group(0) @binding(5) var<storage, read> dy : array<f32>;
@group(0) @binding(6) var<uniform> u : U;
${ENTRY}${MOMENTS}
  var s1 = 0.0;
  var s2 = 0.0;
  for (var i = lid; i < u.hw; i = i + ${WG}u) {
    let k = base + i * u.c;
    let xh = (x[k] - mean) / sd;
    let z = xh * g + be;
    let dz = select(dy[k] * u.alpha, dy[k], z > 0.0);
    s1 = s1 + dz;
    s2 = s2 + dz * xh;
  }
  let S1 = reduceSum(s1, lid);
  let S2 = reduceSum(s2, lid);
  if (lid == 0u) {
    part[bc * 2u] = S2;
    part[bc * 2u + 1u] = S1;
  }
  let n = f32(u.hw);
  for (var i = lid; i < u.hw; i = i + ${WG}u) {
    let k = base + i * u.c;
    let xh = (x[k] - mean) / sd;
    let z = xh * g + be;
    let dz = select(dy[k] * u.alpha, dy[k], z > 0.0);
    dx[k] = g * (dz - S1 / n - xh * (S2 / n)) / sd;
  }
}`;

// dgamma[c] = sum over samples of part[(b*C + c)*2], dbeta[c] of part[(b*C + c)*2 + 1].
const AFFINE_GRAD = `
struct U { c : u32, batch : u32 }
@group(0) @binding(0) var<storage, read_write> dgamma : array<f32>;
@group(0) @binding(1) var<storage, read_write> dbeta : array<f32>;
@group(0) @binding(2) var<storage, read> part : array<f32>;
@group(0) @binding(3) var<uniform> u : U;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid : vec3<u32>) {
  let c = gid.x;
  if (c >= u.c) { return; }
  var sg = 0.0;
  var sb = 0.0;
  for (var b = 0u; b < u.batch; b = b + 1u) {
    sg = sg + part[(b * u.c + c) * 2u];
    sb = sb + part[(b * u.c + c) * 2u + 1u];
  }
  dgamma[c] = sg;
  dbeta[c] = sb;
}`;

function normUniforms(x: tf.TensorInfo, attrs: tf.NamedAttrMap) {
  const [b, h, w, c] = x.shape;
  return [{ u: h * w }, { u: c }, { u: b * c }, { f: attrs.eps as number }, { f: attrs.alpha as number }];
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function forwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const b = backend as RawWebGpuBackend;
  const { x, gamma, beta } = inputs as Record<string, tf.TensorInfo>;
  const y = b.makeTensorInfo([...x.shape], "float32");
  const [B, , , C] = x.shape;
  rawDispatch(
    b,
    "instance-norm+leaky forward",
    FORWARD,
    [y, x, gamma, beta],
    normUniforms(x, attrs ?? {}),
    grid(B * C, 1),
    [y],
  );
  return y;
}

function backwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const b = backend as RawWebGpuBackend;
  const { x, gamma, beta, dy } = inputs as Record<string, tf.TensorInfo>;
  if (!allFloat32(b, dy)) throw new Error(`${INSTANCE_NORM_GRAD_WEBGPU}: dy must hold float32 words`);
  const [B, , , C] = x.shape;
  const dx = b.makeTensorInfo([...x.shape], "float32");
  const part = b.makeTensorInfo([B * C * 2], "float32");
  const dgamma = b.makeTensorInfo([C], "float32");
  const dbeta = b.makeTensorInfo([C], "float32");
  try {
    rawDispatch(
      b,
      "instance-norm+leaky backward",
      BACKWARD,
      [dx, part, x, gamma, beta, dy],
      normUniforms(x, attrs ?? {}),
      grid(B * C, 1),
      [dx, part],
    );
    rawDispatch(
      b,
      "instance-norm+leaky backward (affine)",
      AFFINE_GRAD,
      [dgamma, dbeta, part],
      [{ u: C }, { u: B }],
      grid(C),
      [dgamma, dbeta],
    );
  } finally {
    (b as unknown as { disposeData(id: object): void }).disposeData(part.dataId);
  }
  return [dx, dgamma, dbeta];
}

/** Kernel configs of the webgpu backend (registered by registerWebGpuKernels). */
export const instanceNormWebGpuKernels: tf.KernelConfig[] = [
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: INSTANCE_NORM_WEBGPU, backendName: "webgpu", kernelFunc: forwardKernel as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: INSTANCE_NORM_GRAD_WEBGPU, backendName: "webgpu", kernelFunc: backwardKernel as any },
];

/**
 * leakyRelu(gamma * (x - mean_hw) / sqrt(var_hw + eps) + beta, alpha), x NHWC float32, with first-order gradients for
 * x, gamma and beta, on the webgpu backend's fused kernels; null when they are not in use (another backend, fusion
 * off, kernels not registered), so the caller falls back to its op graph.
 */
export function instanceNormLeakyReluWebGpu(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
  alpha: number,
): tf.Tensor4D | null {
  const backend = rawWebGpuBackend();
  if (!backend || x.rank !== 4 || !tf.getKernel(INSTANCE_NORM_WEBGPU, "webgpu")) return null;
  if (!allFloat32(backend, x, gamma, beta)) return null;
  if (gamma.size !== x.shape[3] || beta.size !== x.shape[3] || x.shape[1] * x.shape[2] === 0) return null;
  const attrs = { eps, alpha };
  const f = tf.customGrad((xi, g, b, save) => {
    (save as tf.GradSaveFunc)([xi as tf.Tensor, g as tf.Tensor, b as tf.Tensor]);
    const value = tf
      .engine()
      .runKernel(INSTANCE_NORM_WEBGPU, { x: xi as tf.Tensor, gamma: g as tf.Tensor, beta: b as tf.Tensor }, attrs);
    return {
      value: value as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf
          .engine()
          .runKernel(
            INSTANCE_NORM_GRAD_WEBGPU,
            { x: saved[0], gamma: saved[1], beta: saved[2], dy },
            attrs,
          ) as tf.Tensor[],
    };
  });
  return f(x, gamma, beta) as tf.Tensor4D;
}
