// Optimizer updates on webgpu, in place, several parameters per WGSL dispatch (issue 15): the op graph of an update is
// 8 (SGD Nesterov with weight decay) or 14 (Adam) elementwise dispatches per parameter, each with a fresh output
// buffer. Updates are queued by sgdNesterovWebGpu / adamWebGpu and recorded in groups of as many parameters as the
// device's storage-buffer bindings allow (16 on lavapipe: 5 SGD or 4 Adam parameters; at most GROUP_MAX), one
// invocation per element of the concatenated parameters; flushWebGpuUpdates() records what is left (the optimizer
// calls it before it disposes the gradients). Same maths and the same order of float32 operations as
// layers/optimizers.ts' op graph (within rounding: a GPU may contract a*b+c into one fused multiply-add).
// A parameter may come with two gradient contributions (a discriminator's real and fake passes, differentiated
// separately): the kernel reads both and adds them, which saves the tape's Add per parameter (bench-gan: 12 of a step).
import type { tf } from "../../backend/tf.js";
import {
  allFloat32,
  FLAT_INDEX,
  grid,
  ownedOnGpu,
  type RawWebGpuBackend,
  rawDispatch,
  rawWebGpuBackend,
} from "./raw.js";

const GROUP_MAX = 8;

interface Kind {
  name: string;
  /** Buffers per parameter, read_write first: p and its slots, then the gradient(s) (read). */
  written: number;
  /** Gradient buffers per parameter: 1, or 2 whose sum is the gradient. */
  reads: number;
  /** Shared scalars (f32) after the per-parameter offsets and per-parameter scalars. */
  shared: string[];
  /** Per-parameter scalars (f32). */
  own: string[];
  /** WGSL body for element `i` of parameter `k`, whose gradient element is the expression `g`. */
  body(k: number, g: string): string;
}

const SGD: Kind = {
  name: "sgd-nesterov",
  written: 2,
  reads: 1,
  shared: ["lr", "momentum", "wd"],
  own: [],
  body: (k, g) => `
    let pi = p${k}[i];
    let gi = ${g} + pi * u.wd;
    let vi = s${k}_0[i] * u.momentum + gi;
    s${k}_0[i] = vi;
    p${k}[i] = pi - (gi + vi * u.momentum) * u.lr;`,
};

const ADAM: Kind = {
  name: "adam",
  written: 3,
  reads: 1,
  shared: ["lr", "b1", "omb1", "b2", "omb2", "eps"],
  own: ["c1", "c2"],
  body: (k, g) => `
    let gi = ${g};
    let mi = s${k}_0[i] * u.b1 + gi * u.omb1;
    let vi = s${k}_1[i] * u.b2 + (gi * gi) * u.omb2;
    s${k}_0[i] = mi;
    s${k}_1[i] = vi;
    p${k}[i] = p${k}[i] - ((mi / u.c1_${k}) / (sqrt(vi / u.c2_${k}) + u.eps)) * u.lr;`,
};

/** The same update of the sum of two gradients (added first, in float32, as the tape's Add would). */
function summed(kind: Kind): Kind {
  return { ...kind, name: `${kind.name} (2 gradients)`, reads: 2 };
}
const SGD2 = summed(SGD);
const ADAM2 = summed(ADAM);

function code(kind: Kind, count: number): string {
  const fields = [
    "n : u32",
    ...Array.from({ length: count }, (_, k) => `end${k} : u32`),
    ...kind.shared.map((s) => `${s} : f32`),
    ...Array.from({ length: count }, (_, k) => kind.own.map((s) => `${s}_${k} : f32`)).flat(),
  ];
  let binding = 0;
  const decls: string[] = [];
  for (let k = 0; k < count; k++) {
    decls.push(`@group(0) @binding(${binding++}) var<storage, read_write> p${k} : array<f32>;`);
    for (let s = 0; s < kind.written - 1; s++)
      decls.push(`@group(0) @binding(${binding++}) var<storage, read_write> s${k}_${s} : array<f32>;`);
    for (let r = 0; r < kind.reads; r++)
      decls.push(`@group(0) @binding(${binding++}) var<storage, read> g${k}_${r} : array<f32>;`);
  }
  const gradient = (k: number) => (kind.reads === 1 ? `g${k}_0[i]` : `(g${k}_0[i] + g${k}_1[i])`);
  const branches = Array.from({ length: count }, (_, k) => {
    const start = k === 0 ? "0u" : `u.end${k - 1}`;
    return `${k === 0 ? "" : " else "}if (j < u.end${k}) {\n    let i = j - ${start};${kind.body(k, gradient(k))}\n  }`;
  }).join("");
  return `
struct U { ${fields.join(", ")} }
${decls.join("\n")}
@group(0) @binding(${binding}) var<uniform> u : U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let j = ${FLAT_INDEX()};
  if (j >= u.n) { return; }
  ${branches}
}`;
}

interface Update {
  p: tf.Variable;
  slots: tf.Variable[];
  /** One gradient, or two to be summed. */
  g: tf.Tensor[];
  own: number[];
}

let queued: { backend: RawWebGpuBackend; kind: Kind; shared: number[]; updates: Update[] } | null = null;

function groupSize(backend: RawWebGpuBackend, kind: Kind): number {
  const limit = (backend.device as { limits?: Record<string, number> }).limits?.maxStorageBuffersPerShaderStage ?? 8;
  return Math.max(1, Math.min(GROUP_MAX, Math.floor(limit / (kind.written + kind.reads))));
}

function record(backend: RawWebGpuBackend, kind: Kind, shared: number[], updates: Update[]): void {
  const ends: number[] = [];
  let n = 0;
  for (const u of updates) {
    n += u.p.size;
    ends.push(n);
  }
  rawDispatch(
    backend,
    `optimizer ${kind.name}`,
    code(kind, updates.length),
    updates.flatMap((u) => [u.p, ...u.slots, ...u.g]),
    [
      { u: n },
      ...ends.map((e) => ({ u: e })),
      ...shared.map((f) => ({ f })),
      ...updates.flatMap((u) => u.own.map((f) => ({ f }))),
    ],
    grid(n),
    updates.flatMap((u) => [u.p, ...u.slots]),
  );
}

/** Records every queued update (call before the gradients are disposed or the parameters read). */
export function flushWebGpuUpdates(): void {
  const q = queued;
  queued = null;
  if (!q) return;
  const size = groupSize(q.backend, q.kind);
  for (let i = 0; i < q.updates.length; i += size) record(q.backend, q.kind, q.shared, q.updates.slice(i, i + size));
}

function enqueue(backend: RawWebGpuBackend, kind: Kind, shared: number[], update: Update): void {
  const same =
    queued && queued.backend === backend && queued.kind === kind && queued.shared.every((v, i) => v === shared[i]);
  if (!same) flushWebGpuUpdates();
  if (!queued) queued = { backend, kind, shared, updates: [] };
  queued.updates.push(update);
  if (queued.updates.length >= groupSize(backend, kind)) flushWebGpuUpdates();
}

/** Whether `p` and its slots can be updated in place on the webgpu backend (else the caller runs the op graph). */
function updatable(p: tf.Tensor, g: tf.Tensor[], slots: tf.Tensor[]) {
  const backend = rawWebGpuBackend();
  if (!backend || !allFloat32(backend, ...g) || g.some((t) => t.size !== p.size)) return null;
  for (const t of [p, ...slots]) if (!ownedOnGpu(backend, t) || t.size !== p.size) return null;
  return backend;
}

/**
 * Queues g <- g + wd*p; v <- m*v + g; p <- p - lr*(g + m*v), in place (see flushWebGpuUpdates), g the gradient or the
 * sum of the two given. False when not on webgpu or not updatable in place.
 */
export function sgdNesterovWebGpu(
  p: tf.Variable,
  g: tf.Tensor | [tf.Tensor, tf.Tensor],
  v: tf.Variable,
  lr: number,
  momentum: number,
  weightDecay: number,
): boolean {
  const grads = Array.isArray(g) ? g : [g];
  const backend = updatable(p, grads, [v]);
  if (!backend) return false;
  enqueue(backend, grads.length === 2 ? SGD2 : SGD, [lr, momentum, weightDecay], { p, slots: [v], g: grads, own: [] });
  return true;
}

/** Queues Adam with bias correction (c1 = 1 - beta1^t, c2 = 1 - beta2^t), in place; false as sgdNesterovWebGpu. */
export function adamWebGpu(
  p: tf.Variable,
  g: tf.Tensor | [tf.Tensor, tf.Tensor],
  m: tf.Variable,
  v: tf.Variable,
  s: { lr: number; beta1: number; beta2: number; c1: number; c2: number; eps: number },
): boolean {
  const grads = Array.isArray(g) ? g : [g];
  const backend = updatable(p, grads, [m, v]);
  if (!backend) return false;
  enqueue(backend, grads.length === 2 ? ADAM2 : ADAM, [s.lr, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.eps], {
    p,
    slots: [m, v],
    g: grads,
    own: [s.c1, s.c2],
  });
  return true;
}
