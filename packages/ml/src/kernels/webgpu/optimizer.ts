// Optimizer updates as one WGSL dispatch per parameter, in place (issue 15): the op graph of an update is 8 (SGD
// Nesterov with weight decay) or 14 (Adam) elementwise dispatches per parameter, each with a fresh output buffer.
// Same maths and the same order of float32 operations as layers/optimizers.ts' op graph (within rounding: a GPU may
// contract a*b+c into one fused multiply-add).
import type { tf } from "../../backend/tf.js";
import { allFloat32, FLAT_INDEX, grid, ownedOnGpu, rawDispatch, rawWebGpuBackend } from "./raw.js";

const SGD = `
struct U { n : u32, lr : f32, momentum : f32, wd : f32 }
@group(0) @binding(0) var<storage, read_write> p : array<f32>;
@group(0) @binding(1) var<storage, read_write> v : array<f32>;
@group(0) @binding(2) var<storage, read> g : array<f32>;
@group(0) @binding(3) var<uniform> u : U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let i = ${FLAT_INDEX()};
  if (i >= u.n) { return; }
  let pi = p[i];
  let gi = g[i] + pi * u.wd;
  let vi = v[i] * u.momentum + gi;
  v[i] = vi;
  p[i] = pi - (gi + vi * u.momentum) * u.lr;
}`;

const ADAM = `
struct U { n : u32, lr : f32, b1 : f32, omb1 : f32, b2 : f32, omb2 : f32, c1 : f32, c2 : f32, eps : f32 }
@group(0) @binding(0) var<storage, read_write> p : array<f32>;
@group(0) @binding(1) var<storage, read_write> m : array<f32>;
@group(0) @binding(2) var<storage, read_write> v : array<f32>;
@group(0) @binding(3) var<storage, read> g : array<f32>;
@group(0) @binding(4) var<uniform> u : U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let i = ${FLAT_INDEX()};
  if (i >= u.n) { return; }
  let gi = g[i];
  let mi = m[i] * u.b1 + gi * u.omb1;
  let vi = v[i] * u.b2 + (gi * gi) * u.omb2;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] - ((mi / u.c1) / (sqrt(vi / u.c2) + u.eps)) * u.lr;
}`;

/** Whether `p` and its slots can be updated in place on the webgpu backend (else the caller runs the op graph). */
function updatable(p: tf.Tensor, g: tf.Tensor, slots: tf.Tensor[]) {
  const backend = rawWebGpuBackend();
  if (!backend || !allFloat32(backend, g) || g.size !== p.size) return null;
  for (const t of [p, ...slots]) if (!ownedOnGpu(backend, t) || t.size !== p.size) return null;
  return backend;
}

/** g <- g + wd*p; v <- m*v + g; p <- p - lr*(g + m*v), in place. False when not on webgpu or not updatable in place. */
export function sgdNesterovWebGpu(
  p: tf.Variable,
  g: tf.Tensor,
  v: tf.Variable,
  lr: number,
  momentum: number,
  weightDecay: number,
): boolean {
  const backend = updatable(p, g, [v]);
  if (!backend) return false;
  rawDispatch(
    backend,
    "optimizer sgd-nesterov",
    SGD,
    [p, v, g],
    [{ u: p.size }, { f: lr }, { f: momentum }, { f: weightDecay }],
    grid(p.size),
    [p, v],
  );
  return true;
}

/** Adam with bias correction (c1 = 1 - beta1^t, c2 = 1 - beta2^t), in place; false as sgdNesterovWebGpu. */
export function adamWebGpu(
  p: tf.Variable,
  g: tf.Tensor,
  m: tf.Variable,
  v: tf.Variable,
  s: { lr: number; beta1: number; beta2: number; c1: number; c2: number; eps: number },
): boolean {
  const backend = updatable(p, g, [m, v]);
  if (!backend) return false;
  rawDispatch(
    backend,
    "optimizer adam",
    ADAM,
    [p, m, v, g],
    [
      { u: p.size },
      { f: s.lr },
      { f: s.beta1 },
      { f: 1 - s.beta1 },
      { f: s.beta2 },
      { f: 1 - s.beta2 },
      { f: s.c1 },
      { f: s.c2 },
      { f: s.eps },
    ],
    grid(p.size),
    [p, m, v],
  );
  return true;
}
