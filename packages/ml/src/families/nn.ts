// Building blocks shared by the generator families, NHWC, written against a Scope (scope.ts). First-order
// differentiable everywhere; the StyleGAN2 discriminator (R1 penalty) uses only the second-order-safe subset
// noted in its file.
import { InvalidInput } from "@synthmri/core";
import { tf } from "../backend/tf.js";
import { conv2d, dense, type Padding } from "../layers/ops.js";
import type { Scope } from "./scope.js";

/**
 * SiLU / swish x * sigmoid(x) (DDPM, ADM) with its gradient s (1 + x (1 - s)) written out: autodiff of x * sigmoid
 * records two ops whose gradients cost twice the elementwise passes. First-order only (customGrad).
 */
export const silu = tf.customGrad((x, save) => {
  const xt = x as tf.Tensor;
  const s = tf.sigmoid(xt);
  (save as tf.GradSaveFunc)([xt, s]);
  return {
    value: tf.mul(xt, s),
    gradFunc: (dy: tf.Tensor, [xs, ss]: tf.Tensor[]) => tf.mul(dy, tf.mul(ss, tf.add(1, tf.mul(xs, tf.sub(1, ss))))),
  };
}) as <T extends tf.Tensor>(x: T) => T;

/**
 * Group norm over (H, W, C/groups) per sample and group, affine gamma/beta [C] (PyTorch GroupNorm, eps 1e-5), with
 * the gradient written out (dx = rstd (g - mean(g) - xhat mean(g xhat)) per group, g = dy gamma): autodiff of the
 * mean/variance graph spent about a third of a DDPM step in broadcast passes. First-order only (customGrad; the
 * gradient closes over shapes only).
 */
export function groupNorm(s: Scope, name: string, x: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  if (C % groups !== 0) throw new InvalidInput(`group norm ${name}: ${C} channels do not split into ${groups} groups`);
  const gamma = s.param(`${name}.g`, [C], { kind: "ones" });
  const beta = s.param(`${name}.b`, [C], { kind: "zeros" });
  const grouped = [B, H, W, groups, C / groups];
  const op = tf.customGrad((xi, gi, bi, save) => {
    const g = tf.reshape(xi as tf.Tensor, grouped);
    const centred = tf.sub(g, tf.mean(g, [1, 2, 4], true));
    const rstd = tf.div(1, tf.sqrt(tf.add(tf.mean(tf.square(centred), [1, 2, 4], true), 1e-5)));
    const xhat = tf.mul(centred, rstd);
    (save as tf.GradSaveFunc)([xhat, rstd, gi as tf.Tensor]);
    return {
      value: tf.add(tf.mul(tf.reshape(xhat, [B, H, W, C]), gi as tf.Tensor), bi as tf.Tensor),
      gradFunc: (dy: tf.Tensor, [xh, rs, gm]: tf.Tensor[]) => {
        const gx = tf.reshape(tf.mul(dy, gm), grouped);
        const centredGrad = tf.sub(gx, tf.mean(gx, [1, 2, 4], true));
        const dx = tf.mul(rs, tf.sub(centredGrad, tf.mul(xh, tf.mean(tf.mul(gx, xh), [1, 2, 4], true))));
        return [
          tf.reshape(dx, [B, H, W, C]),
          tf.sum(tf.mul(dy, tf.reshape(xh, [B, H, W, C])), [0, 1, 2]),
          tf.sum(dy, [0, 1, 2]),
        ];
      },
    };
  });
  return op(x, gamma, beta) as tf.Tensor4D;
}

export interface ConvOptions {
  k?: number;
  stride?: number;
  /** Numeric pad pads every side (PyTorch style); default (k - 1) / 2. */
  pad?: Padding;
  bias?: boolean;
  /** "zeros" for DDPM's zero-initialised output layers; default PyTorch's uniform(1/sqrt(fanIn)). */
  init?: "torch" | "zeros";
}

/** k x k convolution with PyTorch's default init (or zeros) and symmetric padding. */
export function conv(s: Scope, name: string, x: tf.Tensor4D, cout: number, o: ConvOptions = {}): tf.Tensor4D {
  const k = o.k ?? 3;
  const cin = x.shape[3];
  const fanIn = k * k * cin;
  const init = o.init === "zeros" ? ({ kind: "zeros" } as const) : ({ kind: "torchDefault", fanIn } as const);
  const w = s.param(`${name}.w`, [k, k, cin, cout], init) as tf.Tensor4D;
  const b = o.bias === false ? null : (s.param(`${name}.b`, [cout], init) as tf.Tensor1D);
  return conv2d(x, w, b, o.stride ?? 1, o.pad ?? (k - 1) / 2);
}

/** Linear layer with PyTorch's default init (or zeros). */
export function linear(
  s: Scope,
  name: string,
  x: tf.Tensor2D,
  cout: number,
  init: "torch" | "zeros" = "torch",
): tf.Tensor2D {
  const cin = x.shape[1];
  const i = init === "zeros" ? ({ kind: "zeros" } as const) : ({ kind: "torchDefault", fanIn: cin } as const);
  return dense(x, s.param(`${name}.w`, [cin, cout], i) as tf.Tensor2D, s.param(`${name}.b`, [cout], i) as tf.Tensor1D);
}

/** Nearest x2 upsampling as a broadcast multiply: differentiable to any order, same values as resize-nearest. */
export function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.mul(tf.reshape(x, [n, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1])), [
    n,
    h * 2,
    w * 2,
    c,
  ]) as tf.Tensor4D;
}

/**
 * Single-head self-attention over all H*W positions with a residual connection (DDPM's AttnBlock): group norm,
 * q/k/v 1x1 projections, softmax(q k^T / sqrt(C)) v, zero-initialised output projection.
 */
export function selfAttention(s: Scope, name: string, x: tf.Tensor4D, groups: number): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const h = tf.reshape(groupNorm(s, `${name}.norm`, x, groups), [B * H * W, C]) as tf.Tensor2D;
  const q = tf.reshape(linear(s, `${name}.q`, h, C), [B, H * W, C]);
  const k = tf.reshape(linear(s, `${name}.k`, h, C), [B, H * W, C]);
  const v = tf.reshape(linear(s, `${name}.v`, h, C), [B, H * W, C]);
  const weights = softmaxLast(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(C)));
  const a = tf.reshape(tf.matMul(weights, v), [B * H * W, C]) as tf.Tensor2D;
  return tf.add(x, tf.reshape(linear(s, `${name}.proj`, a, C, "zeros"), [B, H, W, C])) as tf.Tensor4D;
}

/**
 * Softmax over the last axis as exp(x - max) / sum with the gradient y * (dy - sum(dy * y)) written out: the stock
 * cpu Softmax kernel took most of a DDPM step (a generic per-row loop), and differentiating the max shift
 * through tf.max costs an Equal + Multiply over the whole tensor for a gradient that cancels anyway.
 * First-order only (customGrad), like everything in a generator.
 */
export const softmaxLast = tf.customGrad((x, save) => {
  const xt = x as tf.Tensor;
  const e = tf.exp(tf.sub(xt, tf.max(xt, -1, true)));
  const y = tf.div(e, tf.sum(e, -1, true));
  (save as tf.GradSaveFunc)([y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [s]: tf.Tensor[]) => tf.mul(s, tf.sub(dy, tf.sum(tf.mul(dy, s), -1, true))),
  };
}) as <T extends tf.Tensor>(x: T) => T;

/** Sinusoidal embedding of integer timesteps (DDPM / "Attention is all you need"): [n, dim], sin half then cos half. */
export function timestepEmbedding(t: ArrayLike<number>, dim: number): Float32Array {
  const half = Math.floor(dim / 2);
  const out = new Float32Array(t.length * dim);
  for (let i = 0; i < t.length; i++) {
    for (let j = 0; j < half; j++) {
      const f = Math.exp((-Math.log(10000) * j) / Math.max(1, half - 1));
      out[i * dim + j] = Math.sin(t[i] * f);
      out[i * dim + half + j] = Math.cos(t[i] * f);
    }
  }
  return out;
}
