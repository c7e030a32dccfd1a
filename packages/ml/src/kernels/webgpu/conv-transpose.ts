// The U-Net decoder's 2x2 stride-2 transposed convolution with its bias for the webgpu backend (issue 15). The layers
// op (weight transpose, matMul, pixel-shuffle transpose, bias add) is 4 dispatches forward, 16 of a bench-unet
// inference; here the forward is one kernel (each output reads its input pixel's Cin values against one weight row)
// and the input gradient one more (each input pixel gathers its 2x2 output block against the weights). The weight
// and bias gradients are reductions over every pixel and stay on the op graph (a transpose and the backend's split-K
// matMul, a reduce): first-order gradients only (the U-Net needs no more; a nested gradient through the input
// gradient kernel fails loudly: it has no gradient of its own).
import { tf } from "../../backend/tf.js";
import { allFloat32, FLAT_INDEX, grid, type RawWebGpuBackend, rawDispatch, rawWebGpuBackend } from "./raw.js";

export const CONV_T2X2_WEBGPU = "SynthmriConvTranspose2x2WebGpu";
export const CONV_T2X2_DX_WEBGPU = "SynthmriConvTranspose2x2DxWebGpu";

// x [B,H,W,Ci], w [2,2,Co,Ci] (tfjs conv2dTranspose layout), bias [Co] -> y [B,2H,2W,Co].
const FORWARD = `
struct U { n : u32, co : u32, ci : u32, w : u32, h : u32 }
@group(0) @binding(0) var<storage, read_write> y : array<f32>;
@group(0) @binding(1) var<storage, read> x : array<f32>;
@group(0) @binding(2) var<storage, read> wt : array<f32>;
@group(0) @binding(3) var<storage, read> bias : array<f32>;
@group(0) @binding(4) var<uniform> u : U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let o = ${FLAT_INDEX()};
  if (o >= u.n) { return; }
  let co = o % u.co;
  let t = o / u.co;
  let X = t % (2u * u.w);
  let t2 = t / (2u * u.w);
  let Y = t2 % (2u * u.h);
  let b = t2 / (2u * u.h);
  let xb = ((b * u.h + Y / 2u) * u.w + X / 2u) * u.ci;
  let wb = (((Y % 2u) * 2u + X % 2u) * u.co + co) * u.ci;
  var acc = 0.0;
  for (var k = 0u; k < u.ci; k = k + 1u) { acc = acc + x[xb + k] * wt[wb + k]; }
  y[o] = acc + bias[co];
}`;

// dy [B,2H,2W,Co], w [2,2,Co,Ci] -> dx [B,H,W,Ci].
const BACKWARD_X = `
struct U { n : u32, co : u32, ci : u32, w : u32, h : u32 }
@group(0) @binding(0) var<storage, read_write> dx : array<f32>;
@group(0) @binding(1) var<storage, read> dy : array<f32>;
@group(0) @binding(2) var<storage, read> wt : array<f32>;
@group(0) @binding(3) var<uniform> u : U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>) {
  let o = ${FLAT_INDEX()};
  if (o >= u.n) { return; }
  let ci = o % u.ci;
  let t = o / u.ci;
  let j = t % u.w;
  let t2 = t / u.w;
  let i = t2 % u.h;
  let b = t2 / u.h;
  var acc = 0.0;
  for (var tap = 0u; tap < 4u; tap = tap + 1u) {
    let db = (((b * u.h * 2u + i * 2u + tap / 2u) * u.w * 2u) + j * 2u + tap % 2u) * u.co;
    for (var co = 0u; co < u.co; co = co + 1u) { acc = acc + dy[db + co] * wt[(tap * u.co + co) * u.ci + ci]; }
  }
  dx[o] = acc;
}`;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown };

function forwardKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const b = backend as RawWebGpuBackend;
  const { x, w, bias } = inputs as Record<string, tf.TensorInfo>;
  const [B, H, W, ci] = x.shape;
  const co = w.shape[2];
  const y = b.makeTensorInfo([B, 2 * H, 2 * W, co], "float32");
  const n = B * 4 * H * W * co;
  rawDispatch(
    b,
    "conv-transpose 2x2 + bias forward",
    FORWARD,
    [y, x, w, bias],
    [{ u: n }, { u: co }, { u: ci }, { u: W }, { u: H }],
    grid(n),
    [y],
  );
  return y;
}

function backwardXKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const b = backend as RawWebGpuBackend;
  const { dy, w } = inputs as Record<string, tf.TensorInfo>;
  if (!allFloat32(b, dy)) throw new Error(`${CONV_T2X2_DX_WEBGPU}: dy must hold float32 words`);
  const [B, H2, W2, co] = dy.shape;
  const ci = w.shape[3];
  const dx = b.makeTensorInfo([B, H2 / 2, W2 / 2, ci], "float32");
  const n = (B * H2 * W2 * ci) / 4;
  rawDispatch(
    b,
    "conv-transpose 2x2 backward (input)",
    BACKWARD_X,
    [dx, dy, w],
    [{ u: n }, { u: co }, { u: ci }, { u: W2 / 2 }, { u: H2 / 2 }],
    grid(n),
    [dx],
  );
  return dx;
}

/** Kernel configs of the webgpu backend (registered by registerWebGpuKernels). */
export const convTransposeWebGpuKernels: tf.KernelConfig[] = [
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: CONV_T2X2_WEBGPU, backendName: "webgpu", kernelFunc: forwardKernel as any },
  // biome-ignore lint/suspicious/noExplicitAny: kernel functions are typed structurally by tfjs.
  { kernelName: CONV_T2X2_DX_WEBGPU, backendName: "webgpu", kernelFunc: backwardXKernel as any },
];

/**
 * Transposed conv 2x2 stride 2 plus bias (layers' convTranspose2x2: x [B,H,W,Cin], w [2,2,Cout,Cin], b [Cout]) on the
 * webgpu kernels above, first-order gradients for x, w and b; null when they are not in use (another backend, fusion
 * off, no bias, not float32), so the caller runs its op graph.
 */
export function convTranspose2x2WebGpu(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null): tf.Tensor4D | null {
  const backend = rawWebGpuBackend();
  if (!backend || !b || x.rank !== 4 || w.rank !== 4 || !tf.getKernel(CONV_T2X2_WEBGPU, "webgpu")) return null;
  const [B, H, W, ci] = x.shape;
  const co = w.shape[2];
  if (w.shape[0] !== 2 || w.shape[1] !== 2 || w.shape[3] !== ci || b.size !== co || x.size === 0) return null;
  if (!allFloat32(backend, x, w, b)) return null;
  const f = tf.customGrad((xi, wi, bi, save) => {
    (save as tf.GradSaveFunc)([xi as tf.Tensor, wi as tf.Tensor]);
    const value = tf
      .engine()
      .runKernel(CONV_T2X2_WEBGPU, { x: xi as tf.Tensor, w: wi as tf.Tensor, bias: bi as tf.Tensor }, {});
    return {
      value: value as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved;
        const dx = tf.engine().runKernel(CONV_T2X2_DX_WEBGPU, { dy, w: ws }, {}) as tf.Tensor;
        // dy's 2x2 blocks as rows [(b,i,j), (ky,kx,co)] (the inverse pixel shuffle), then x^T . that = [Ci, (ky,kx,co)].
        const blocks = tf.reshape(tf.transpose(tf.reshape(dy, [B, H, 2, W, 2, co]), [0, 1, 3, 2, 4, 5]), [
          B * H * W,
          4 * co,
        ]);
        const dwm = tf.matMul(tf.reshape(xs, [B * H * W, ci]) as tf.Tensor2D, blocks as tf.Tensor2D, true, false);
        const dw = tf.transpose(tf.reshape(dwm, [ci, 2, 2, co]), [1, 2, 3, 0]);
        const db = tf.sum(dy, [0, 1, 2]);
        return [dx, dw, db];
      },
    };
  });
  return f(x, w, b) as tf.Tensor4D;
}
