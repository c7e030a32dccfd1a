// StyleGAN2 networks, NHWC, equalized learning rate (weights stored N(0, 1/lrMul), scaled at run time).
// Modulated convolution without grouped conv (tfjs has none): StyleGAN2's own non-fused form, exactly equivalent:
// scale the input channels by the per-sample style, convolve with the shared weight, then multiply each output
// channel by the per-sample demodulation 1/sqrt(styles^2 @ sum_kk(w^2) + 1e-8) (one small matMul).
// Simplifications against the official code (documented in the report): nearest x2 upsampling before a 3x3 conv
// instead of transposed conv + FIR blur, and 3x3 conv + 2x2 average pool instead of blur + stride-2 conv in D.
// Everything in D and on G's image path is second-order safe (R1 and path-length penalties differentiate
// gradients): leaky ReLU as 0.2x + 0.8 relu(x), average pooling as reshape + mean, upsampling as a broadcast,
// no tanh/sigmoid/exp (shared/notes/tfjs-facts.md).
import { tf } from "../../backend/tf.js";
import { avgPool2x2, leakyRelu, pixelNorm } from "../../layers/ops.js";
import { minibatchStdDev } from "../../gan/ops.js";
import { softmaxLast, upsample2x } from "../nn.js";
import type { Scope } from "../scope.js";
import { SEQUENCE_CHANNELS, type StyleGan2Config, fmaps } from "./config.js";

const SQRT2 = Math.SQRT2;

/** Leaky ReLU 0.2 with StyleGAN's gain sqrt(2). */
function lrelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(leakyRelu(x), SQRT2) as T;
}

function eqDense(
  s: Scope,
  name: string,
  x: tf.Tensor2D,
  cout: number,
  o: { lrMul?: number; biasInit?: number; bias?: boolean } = {},
): tf.Tensor2D {
  const lrMul = o.lrMul ?? 1;
  const cin = x.shape[1];
  const w = s.param(`${name}.w`, [cin, cout], { kind: "normal", std: 1 / lrMul });
  let y: tf.Tensor2D = tf.matMul(x, tf.mul(w, lrMul / Math.sqrt(cin)) as tf.Tensor2D);
  if (o.bias !== false) {
    const b = s.param(`${name}.b`, [cout], { kind: "constant", value: (o.biasInit ?? 0) / lrMul });
    y = tf.add(y, lrMul === 1 ? b : tf.mul(b, lrMul)) as tf.Tensor2D;
  }
  return y;
}

function eqConv(s: Scope, name: string, x: tf.Tensor4D, cout: number, k: number, bias = true): tf.Tensor4D {
  const cin = x.shape[3];
  const w = s.param(`${name}.w`, [k, k, cin, cout], { kind: "normal", std: 1 });
  let y = tf.conv2d(x, tf.mul(w, 1 / Math.sqrt(k * k * cin)) as tf.Tensor4D, 1, "same");
  if (bias) y = tf.add(y, s.param(`${name}.b`, [cout], { kind: "zeros" }));
  return y as tf.Tensor4D;
}

/** Modulated conv: x [n,H,W,cin], styles [n,cin], weight [k,k,cin,cout]; demodulated unless toRGB. */
export function modulatedConv(
  x: tf.Tensor4D,
  styles: tf.Tensor2D,
  weight: tf.Tensor4D,
  demodulate: boolean,
): tf.Tensor4D {
  const [n, , , cin] = x.shape;
  const [k, , , cout] = weight.shape;
  const xs = tf.mul(x, tf.reshape(styles, [n, 1, 1, cin]));
  const y = tf.conv2d(xs as tf.Tensor4D, weight, 1, "same");
  if (!demodulate) return y;
  const wSq = tf.reshape(tf.sum(tf.square(weight), [0, 1]), [cin, cout]) as tf.Tensor2D;
  const d = tf.div(1, tf.sqrt(tf.add(tf.matMul(tf.square(styles), wSq), 1e-8)));
  void k;
  return tf.mul(y, tf.reshape(d, [n, 1, 1, cout])) as tf.Tensor4D;
}

/** Per-layer noise [n, H, W, 1]: fresh draws in training, the stored constant buffers when sampling. */
export type NoiseSource = (layer: string, n: number, side: number) => tf.Tensor4D;

function synthesisLayer(s: Scope, name: string, x: tf.Tensor4D, w: tf.Tensor2D, cout: number, noise: NoiseSource) {
  const b = s.sub(name);
  const cin = x.shape[3];
  const styles = eqDense(b, "affine", w, cin, { biasInit: 1 });
  const weight = b.param("weight", [3, 3, cin, cout], { kind: "normal", std: 1 }) as tf.Tensor4D;
  let y = modulatedConv(x, styles, weight, true);
  const strength = b.param("noise_strength", [], { kind: "zeros" });
  y = tf.add(y, tf.mul(noise(name, x.shape[0], x.shape[1]), strength));
  return lrelu(tf.add(y, b.param("bias", [cout], { kind: "zeros" })) as tf.Tensor4D);
}

function toRgb(s: Scope, name: string, x: tf.Tensor4D, w: tf.Tensor2D): tf.Tensor4D {
  const b = s.sub(name);
  const cin = x.shape[3];
  const styles = tf.mul(eqDense(b, "affine", w, cin, { biasInit: 1 }), 1 / Math.sqrt(cin)) as tf.Tensor2D;
  const weight = b.param("weight", [1, 1, cin, SEQUENCE_CHANNELS], { kind: "normal", std: 1 }) as tf.Tensor4D;
  return tf.add(modulatedConv(x, styles, weight, false), b.param("bias", [SEQUENCE_CHANNELS], { kind: "zeros" }));
}

/** Mapping network: z [n, latent] -> w [n, latent] (pixel norm, then mappingLayers FC + lrelu at lr x 0.01). */
export function mapping(s: Scope, c: StyleGan2Config, z: tf.Tensor2D): tf.Tensor2D {
  let x = pixelNorm(z) as tf.Tensor2D;
  for (let i = 0; i < c.mappingLayers; i++)
    x = lrelu(eqDense(s, `map${i}`, x, c.latentSize, { lrMul: c.mappingLrMul }));
  return x;
}

export interface SynthesisOutput {
  /** The 4 sequences [n, r, r, 4] (skip architecture: the sum of every level's upsampled toRGB). */
  sequences: tf.Tensor4D;
  /** Segmentation logits [n, r, r, classes] from a 1x1 conv on the last feature map. */
  logits: tf.Tensor4D;
}

/** Skip generator: constant 4x4 input, per level an upsampling and a plain modulated conv, toRGB summed up. */
export function synthesis(s: Scope, c: StyleGan2Config, w: tf.Tensor2D, noise: NoiseSource): SynthesisOutput {
  const n = w.shape[0];
  const c4 = fmaps(c, 4);
  const constant = s.param("const", [1, 4, 4, c4], { kind: "normal", std: 1 });
  let x = tf.mul(tf.ones([n, 1, 1, 1]), constant) as tf.Tensor4D;
  x = synthesisLayer(s, "b4.conv1", x, w, c4, noise);
  let img = toRgb(s, "b4.torgb", x, w);
  for (let side = 8; side <= c.resolution; side *= 2) {
    const ch = fmaps(c, side);
    x = synthesisLayer(s, `b${side}.conv0`, upsample2x(x), w, ch, noise);
    x = synthesisLayer(s, `b${side}.conv1`, x, w, ch, noise);
    img = tf.add(upsample2x(img), toRgb(s, `b${side}.torgb`, x, w)) as tf.Tensor4D;
  }
  return { sequences: img, logits: eqConv(s, "seg", x, c.classes, 1) };
}

/** The discriminator's input of generated data: sequences + class probabilities. */
export function jointImage(o: SynthesisOutput): tf.Tensor4D {
  return tf.concat([o.sequences, softmaxLast(o.logits)], 3) as tf.Tensor4D;
}

/** Residual discriminator on [n, r, r, 4 + classes] -> scores [n, 1]. */
export function discriminator(s: Scope, c: StyleGan2Config, img: tf.Tensor4D): tf.Tensor2D {
  let x = lrelu(eqConv(s, "fromrgb", img, fmaps(c, c.resolution), 1));
  for (let side = c.resolution; side > 4; side /= 2) {
    const cout = fmaps(c, side / 2);
    const skip = eqConv(s, `b${side}.skip`, avgPool2x2(x), cout, 1, false);
    x = lrelu(eqConv(s, `b${side}.conv0`, x, fmaps(c, side), 3));
    x = avgPool2x2(lrelu(eqConv(s, `b${side}.conv1`, x, cout, 3)));
    x = tf.mul(tf.add(x, skip), Math.SQRT1_2) as tf.Tensor4D;
  }
  const c4 = fmaps(c, 4);
  x = minibatchStdDev(x, c.mbstdGroup);
  x = lrelu(eqConv(s, "b4.conv", x, c4, 3));
  const flat = tf.reshape(x, [x.shape[0], 16 * c4]) as tf.Tensor2D;
  return eqDense(s, "b4.out", lrelu(eqDense(s, "b4.fc", flat, c4)), 1);
}
