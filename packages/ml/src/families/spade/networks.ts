// SPADE generator and multi-scale PatchGAN discriminator, NHWC, over Scopes (first-order only: hinge loss, no
// gradient penalty). The label map is one-hot [n, r, r, LABEL_CLASSES]; coarser copies are area averages.
import { tf } from "../../backend/tf.js";
import { avgPool2x2, instanceNorm, leakyRelu } from "../../layers/ops.js";
import { conv, linear, upsample2x } from "../nn.js";
import type { Scope } from "../scope.js";
import type { SpadeConfig } from "./config.js";

/** Spatially-adaptive normalisation: param-free instance norm, then per-pixel gamma/beta from the label map. */
function spade(s: Scope, name: string, x: tf.Tensor4D, seg: tf.Tensor4D, hidden: number): tf.Tensor4D {
  const c = x.shape[3];
  const b = s.sub(name);
  const actv = tf.relu(conv(b, "shared", seg, hidden));
  const gamma = conv(b, "gamma", actv, c);
  const beta = conv(b, "beta", actv, c);
  return tf.add(tf.mul(instanceNorm(x, null, null), tf.add(gamma, 1)), beta) as tf.Tensor4D;
}

function spadeResBlock(s: Scope, name: string, x: tf.Tensor4D, seg: tf.Tensor4D, cout: number, hidden: number) {
  const b = s.sub(name);
  const cin = x.shape[3];
  const cmid = Math.min(cin, cout);
  let dx = conv(b, "conv0", leakyRelu(spade(b, "norm0", x, seg, hidden)), cmid);
  dx = conv(b, "conv1", leakyRelu(spade(b, "norm1", dx, seg, hidden)), cout);
  const shortcut = cin === cout ? x : conv(b, "short", spade(b, "norms", x, seg, hidden), cout, { k: 1, bias: false });
  return tf.add(shortcut, dx) as tf.Tensor4D;
}

/** Label maps at every side from r down to `side` (area averages). */
function pyramid(seg: tf.Tensor4D, minSide: number): Map<number, tf.Tensor4D> {
  const out = new Map<number, tf.Tensor4D>([[seg.shape[1], seg]]);
  let cur = seg;
  while (cur.shape[1] > minSide) {
    cur = avgPool2x2(cur);
    out.set(cur.shape[1], cur);
  }
  return out;
}

function ngfAt(c: SpadeConfig, side: number): number {
  return c.ngf * Math.min(16, c.resolution / side);
}

/** SPADE generator: z -> dense -> 4x4 -> SPADE ResBlocks with x2 upsampling -> conv -> tanh, 4 sequences. */
export function spadeGenerator(s: Scope, c: SpadeConfig, seg: tf.Tensor4D, z: tf.Tensor2D): tf.Tensor4D {
  const n = seg.shape[0];
  const segs = pyramid(seg, 4);
  const c4 = ngfAt(c, 4);
  let x = tf.reshape(linear(s, "fc", z, 16 * c4), [n, 4, 4, c4]) as tf.Tensor4D;
  x = spadeResBlock(s, "b4", x, segs.get(4) as tf.Tensor4D, c4, c.spadeHidden);
  for (let side = 8; side <= c.resolution; side *= 2) {
    x = spadeResBlock(s, `b${side}`, upsample2x(x), segs.get(side) as tf.Tensor4D, ngfAt(c, side), c.spadeHidden);
  }
  return tf.tanh(conv(s, "out", leakyRelu(x), 4));
}

/** One PatchGAN: its intermediate features, the last being the patch scores. */
function patchGan(s: Scope, c: SpadeConfig, x: tf.Tensor4D): tf.Tensor4D[] {
  const feats: tf.Tensor4D[] = [];
  let h = leakyRelu(conv(s, "c0", x, c.ndf, { k: 4, stride: 2, pad: "same" }));
  feats.push(h);
  for (let i = 1; i < c.dLayers; i++) {
    const ch = c.ndf * Math.min(8, 2 ** i);
    h = leakyRelu(instanceNorm(conv(s, `c${i}`, h, ch, { k: 4, stride: 2, pad: "same" }), null, null));
    feats.push(h);
  }
  h = leakyRelu(instanceNorm(conv(s, `c${c.dLayers}`, h, c.ndf * 8, { k: 4, pad: "same" }), null, null));
  feats.push(h);
  feats.push(conv(s, "out", h, 1, { k: 4, pad: "same" }));
  return feats;
}

/** Multi-scale discriminator on [label map, sequences]: per scale, the PatchGAN's features (scores last). */
export function multiscaleD(s: Scope, c: SpadeConfig, seg: tf.Tensor4D, img: tf.Tensor4D): tf.Tensor4D[][] {
  let x = tf.concat([seg, img], 3) as tf.Tensor4D;
  const out: tf.Tensor4D[][] = [];
  for (let d = 0; d < c.numD; d++) {
    if (d > 0) x = avgPool2x2(x);
    out.push(patchGan(s.sub(`d${d}`), c, x));
  }
  return out;
}
