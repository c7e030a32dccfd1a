// 2x2 average pooling for the webgpu backend as one dispatch each way, differentiable to any order (issue 15). The
// layers op (reshape + mean over a rank-6 view, kept that way for second-order autodiff) costs a transpose and a
// reduction forward and a fill, a multiply and a divide backward on webgpu: 5 dispatches per pool, ~60 of a bench-gan
// step. Two linear kernels that are each other's adjoint replace it:
//   pool(x; s)[b,i,j,c] = s * (x[b,2i,2j,c] + x[b,2i,2j+1,c] + x[b,2i+1,2j,c] + x[b,2i+1,2j+1,c])
//   spread(g; s)[b,y,x,c] = s * g[b,y/2,x/2,c]
// The gradient of pool is spread with the same s and the gradient of spread is pool, both registered as tfjs
// gradients, so nested gradients (WGAN-GP, R1) keep working: avgPool2x2 is pool with s = 1/4.
import { tf } from "../../backend/tf.js";
import { allFloat32, FLAT_INDEX, grid, type RawWebGpuBackend, rawDispatch, rawWebGpuBackend } from "./raw.js";

export const POOL2X2_WEBGPU = "SynthmriPool2x2WebGpu";
export const SPREAD2X2_WEBGPU = "SynthmriSpread2x2WebGpu";

const HEADER = `
struct U { n : u32, c : u32, w : u32, h : u32, s : f32 }
@group(0) @binding(0) var<storage, read_write> y : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<uniform> u : U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let o = ${FLAT_INDEX()};
  if (o >= u.n) { return; }
  let c = o % u.c;
  let t = o / u.c;
  let j = t % u.w;
  let t2 = t / u.w;
  let i = t2 % u.h;
  let b = t2 / u.h;`;

// u.w, u.h: the pooled (small) width and height.
const POOL = `${HEADER}
  let row = u.w * 2u * u.c;
  let k = ((b * u.h * 2u + i * 2u) * u.w * 2u + j * 2u) * u.c + c;
  y[o] = u.s * (((x[k] + x[k + u.c]) + x[k + row]) + x[k + row + u.c]);
}`;

// u.w, u.h: the spread (large) width and height.
const SPREAD = `${HEADER}
  let small = (b * (u.h / 2u) + i / 2u) * (u.w / 2u) + j / 2u;
  y[o] = u.s * x[small * u.c + c];
}`;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function run(name: string, code: string, outShape: number[]) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const b = backend as RawWebGpuBackend;
    const { x } = inputs as Record<string, tf.TensorInfo>;
    const y = b.makeTensorInfo(outShape, "float32");
    const n = tf.util.sizeFromShape(outShape);
    const [, h, w, c] = outShape;
    rawDispatch(b, name, code, [y, x], [{ u: n }, { u: c }, { u: w }, { u: h }, { f: attrs?.s as number }], grid(n), [
      y,
    ]);
    return y;
  };
}

function poolKernel(args: KernelArgs): tf.TensorInfo {
  const [B, H, W, C] = (args.inputs.x as tf.TensorInfo).shape;
  return run("pool 2x2", POOL, [B, H / 2, W / 2, C])(args);
}

function spreadKernel(args: KernelArgs): tf.TensorInfo {
  const [B, H, W, C] = (args.inputs.x as tf.TensorInfo).shape;
  return run("spread 2x2", SPREAD, [B, 2 * H, 2 * W, C])(args);
}

/** Kernel configs of the webgpu backend (registered by registerWebGpuKernels). */
export const poolWebGpuKernels: tf.KernelConfig[] = [
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: POOL2X2_WEBGPU, backendName: "webgpu", kernelFunc: poolKernel as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: SPREAD2X2_WEBGPU, backendName: "webgpu", kernelFunc: spreadKernel as any },
];

const adjoint = (kernelName: string, other: string): tf.GradConfig => ({
  kernelName,
  inputsToSave: [],
  gradFunc: (dy, _saved, attrs) => ({
    x: () => tf.engine().runKernel(other, { x: dy as tf.Tensor }, attrs as tf.NamedAttrMap) as tf.Tensor,
  }),
});

/** The two kernels' gradients (each is the other's adjoint). Idempotent. */
export function registerPoolGradients(): void {
  for (const [k, other] of [
    [POOL2X2_WEBGPU, SPREAD2X2_WEBGPU],
    [SPREAD2X2_WEBGPU, POOL2X2_WEBGPU],
  ])
    if (!tf.getGradient(k)) tf.registerGradient(adjoint(k, other));
}

/**
 * 2x2 stride-2 average pooling of x [B,H,W,C] (H, W even) on the webgpu kernels above, gradients of any order; null
 * when they are not in use (another backend, fusion off, odd sizes, not float32), so the caller runs its op graph.
 */
export function avgPool2x2WebGpu(x: tf.Tensor4D): tf.Tensor4D | null {
  const backend = rawWebGpuBackend();
  if (!backend || x.rank !== 4 || !tf.getKernel(POOL2X2_WEBGPU, "webgpu") || !tf.getGradient(POOL2X2_WEBGPU))
    return null;
  const [, H, W] = x.shape;
  if (H % 2 !== 0 || W % 2 !== 0 || x.size === 0 || !allFloat32(backend, x)) return null;
  return tf.engine().runKernel(POOL2X2_WEBGPU, { x }, { s: 0.25 }) as tf.Tensor4D;
}
