// mean(softplus(sign * t)), the non-saturating logistic GAN loss (sign -1: real / generator, +1: fake), for the webgpu
// backend (issue 15): one dispatch forward (one workgroup: the logits are one per sample) and one backward
// (dt = dy * sign * sigmoid(sign * t) / n), instead of a negation, softplus, transposed reduction and division forward
// and about five dispatches backward per loss. First-order gradients only.
import { tf } from "../../backend/tf.js";
import { allFloat32, grid, type RawWebGpuBackend, rawDispatch, rawWebGpuBackend } from "./raw.js";

export const SOFTPLUS_MEAN_WEBGPU = "SynthmriSoftplusMeanWebGpu";
export const SOFTPLUS_MEAN_GRAD_WEBGPU = "SynthmriSoftplusMeanGradWebGpu";

const WG = 64;

// softplus(a) = max(a, 0) + log(1 + exp(-|a|)): no overflow for large |a|.
const FORWARD = `
struct U { n : u32, sign : f32 }
@group(0) @binding(0) var<storage, read_write> loss : array<f32>;
@group(0) @binding(1) var<storage, read> t : array<f32>;
@group(0) @binding(2) var<uniform> u : U;
var<workgroup> red : array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid : u32) {
  var s = 0.0;
  for (var i = lid; i < u.n; i = i + ${WG}u) {
    let a = u.sign * t[i];
    s = s + max(a, 0.0) + log(1.0 + exp(-abs(a)));
  }
  red[lid] = s;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (lid < h) { red[lid] = red[lid] + red[lid + h]; }
    workgroupBarrier();
  }
  if (lid == 0u) { loss[0] = red[0] / f32(u.n); }
}`;

const BACKWARD = `
struct U { n : u32, sign : f32 }
@group(0) @binding(0) var<storage, read_write> dt : array<f32>;
@group(0) @binding(1) var<storage, read> t : array<f32>;
@group(0) @binding(2) var<storage, read> dy : array<f32>;
@group(0) @binding(3) var<uniform> u : U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= u.n) { return; }
  let a = u.sign * t[i];
  dt[i] = dy[0] * u.sign / (1.0 + exp(-a)) / f32(u.n);
}`;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function forwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const b = backend as RawWebGpuBackend;
  const { t } = inputs as Record<string, tf.TensorInfo>;
  const loss = b.makeTensorInfo([], "float32");
  const n = tf.util.sizeFromShape(t.shape);
  rawDispatch(
    b,
    "softplus mean forward",
    FORWARD,
    [loss, t],
    [{ u: n }, { f: attrs?.sign as number }],
    [1, 1, 1],
    [loss],
  );
  return loss;
}

function backwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const b = backend as RawWebGpuBackend;
  const { t, dy } = inputs as Record<string, tf.TensorInfo>;
  if (!allFloat32(b, dy)) throw new Error(`${SOFTPLUS_MEAN_GRAD_WEBGPU}: dy must hold float32 words`);
  const dt = b.makeTensorInfo([...t.shape], "float32");
  const n = tf.util.sizeFromShape(t.shape);
  rawDispatch(b, "softplus mean backward", BACKWARD, [dt, t, dy], [{ u: n }, { f: attrs?.sign as number }], grid(n), [
    dt,
  ]);
  return dt;
}

/** Kernel configs of the webgpu backend (registered by registerWebGpuKernels). */
export const softplusMeanWebGpuKernels: tf.KernelConfig[] = [
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: SOFTPLUS_MEAN_WEBGPU, backendName: "webgpu", kernelFunc: forwardKernel as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: SOFTPLUS_MEAN_GRAD_WEBGPU, backendName: "webgpu", kernelFunc: backwardKernel as any },
];

function fused(t: tf.Tensor, sign: 1 | -1): tf.Scalar | null {
  const backend = rawWebGpuBackend();
  if (!backend || t.size === 0 || !tf.getKernel(SOFTPLUS_MEAN_WEBGPU, "webgpu") || !allFloat32(backend, t)) return null;
  const attrs = { sign };
  const f = tf.customGrad((ti, save) => {
    (save as tf.GradSaveFunc)([ti as tf.Tensor]);
    return {
      value: tf.engine().runKernel(SOFTPLUS_MEAN_WEBGPU, { t: ti as tf.Tensor }, attrs) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(SOFTPLUS_MEAN_GRAD_WEBGPU, { t: saved[0], dy }, attrs) as tf.Tensor,
    };
  });
  return f(t) as tf.Scalar;
}

/**
 * mean(softplus(sign * t)) over every element: the fused webgpu kernels above where they run, else the op graph
 * (tf.softplus, tf.neg, tf.mean). First-order gradients only on webgpu.
 */
export function meanSoftplus(t: tf.Tensor, sign: 1 | -1): tf.Scalar {
  return fused(t, sign) ?? tf.tidy(() => tf.mean(tf.softplus(sign === 1 ? t : tf.neg(t))) as tf.Scalar);
}
