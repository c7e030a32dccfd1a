// Progressive GAN (Karras et al. 2018) with 5 output channels: grows from 4x4 to config.resolution, fading
// each new block in with alpha; pixel norm in G, minibatch stddev in D, equalized learning rate everywhere,
// WGAN-GP loss. Every variable for every resolution exists from the start (so paramCount and checkpoints
// are stable); only the blocks up to the current level take part in a step.
import { InvalidInput } from "@synthmri/core";
import { type GanConfig, featureMaps, validateGanConfig } from "./config.js";
import { networkChannels } from "./mask-encoding.js";
import { AdversarialModel, type Growth } from "./model.js";
import { defineConv, defineDense, downsample2x, lerp, lrelu, minibatchStdDev, pixelNorm, upsample2x } from "./ops.js";
import { tf } from "./tf.js";

type Conv = (x: tf.Tensor4D) => tf.Tensor4D;
type Dense = (x: tf.Tensor2D) => tf.Tensor2D;

export class PganModel extends AdversarialModel {
  /** Highest level: resolution = 4 * 2^maxLevel. */
  readonly maxLevel: number;
  private level = 0;
  private alpha = 1;
  private readonly gBlocks: Conv[][] = []; // [level] -> convs (level 0: the conv after the dense)
  private gDense!: Dense;
  private readonly toRgb: Conv[] = [];
  private readonly fromRgb: Conv[] = [];
  private readonly dBlocks: Conv[][] = []; // [level >= 1] -> conv0, conv1 (then downsample)
  private dFinalConv!: Conv;
  private dDense0!: Dense;
  private dDense1!: Dense;

  constructor(config: GanConfig, seed: number) {
    validateGanConfig(config);
    if (config.family !== "pgan") throw new InvalidInput(`PganModel needs family "pgan", got "${config.family}"`);
    super(config, seed, "wgan-gp");
    this.maxLevel = Math.log2(config.resolution) - 2;
    this.build();
  }

  private nf(level: number): number {
    // Block at level l has resolution 2^(l+2).
    return featureMaps(this.config, level + 2);
  }

  private build(): void {
    const c = this.config;
    const g = this.gParams;
    const d = this.dParams;
    const nf1 = this.nf(0);
    // Generator. Dense gain sqrt(2)/4 as in the reference code (the 4x4 map is then normalised).
    this.gDense = defineDense(g, "g0/dense", c.latentSize, 16 * nf1, Math.SQRT2 / 4);
    this.gBlocks[0] = [defineConv(g, "g0/conv", 3, nf1, nf1)];
    this.toRgb[0] = defineConv(g, "g0/torgb", 1, nf1, networkChannels(c), 1);
    for (let l = 1; l <= this.maxLevel; l++) {
      this.gBlocks[l] = [
        defineConv(g, `g${l}/conv0`, 3, this.nf(l - 1), this.nf(l)),
        defineConv(g, `g${l}/conv1`, 3, this.nf(l), this.nf(l)),
      ];
      this.toRgb[l] = defineConv(g, `g${l}/torgb`, 1, this.nf(l), networkChannels(c), 1);
    }
    // Discriminator.
    for (let l = 0; l <= this.maxLevel; l++)
      this.fromRgb[l] = defineConv(d, `d${l}/fromrgb`, 1, networkChannels(c), this.nf(l));
    for (let l = 1; l <= this.maxLevel; l++) {
      this.dBlocks[l] = [
        defineConv(d, `d${l}/conv0`, 3, this.nf(l), this.nf(l)),
        defineConv(d, `d${l}/conv1`, 3, this.nf(l), this.nf(l - 1)),
      ];
    }
    this.dFinalConv = defineConv(d, "d0/conv", 3, nf1 + 1, nf1);
    const nf0 = featureMaps(c, 1);
    this.dDense0 = defineDense(d, "d0/dense0", 16 * nf1, nf0);
    this.dDense1 = defineDense(d, "d0/dense1", nf0, 1, 1);
  }

  growth(): Growth {
    return { level: this.level, alpha: this.alpha };
  }

  setGrowth(g: Growth): void {
    if (!Number.isInteger(g.level) || g.level < 0 || g.level > this.maxLevel) {
      throw new InvalidInput(
        `growth level ${g.level} is outside 0..${this.maxLevel} for resolution ${this.config.resolution}`,
      );
    }
    if (!(g.alpha >= 0 && g.alpha <= 1)) throw new InvalidInput(`fade-in alpha ${g.alpha} must lie in [0, 1]`);
    this.level = g.level;
    this.alpha = g.level === 0 ? 1 : g.alpha;
  }

  generate(z: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const n = z.shape[0];
      const nf1 = this.nf(0);
      let h = this.gDense(pixelNorm(z) as tf.Tensor2D).reshape([n, 4, 4, nf1]) as tf.Tensor4D;
      h = pixelNorm(lrelu(h)) as tf.Tensor4D;
      h = pixelNorm(lrelu(this.gBlocks[0][0](h))) as tf.Tensor4D;
      let prev: tf.Tensor4D = h;
      for (let l = 1; l <= this.level; l++) {
        prev = h;
        h = upsample2x(h);
        for (const conv of this.gBlocks[l]) h = pixelNorm(lrelu(conv(h))) as tf.Tensor4D;
      }
      const rgb = this.toRgb[this.level](h);
      if (this.level === 0 || this.alpha >= 1) return rgb;
      const skip = upsample2x(this.toRgb[this.level - 1](prev));
      return lerp(skip, rgb, this.alpha);
    });
  }

  discriminate(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const r = this.currentResolution;
      if (x.shape[1] !== r || x.shape[2] !== r)
        throw new InvalidInput(`discriminator input is ${x.shape[1]}x${x.shape[2]}, expected ${r}x${r}`);
      let h = lrelu(this.fromRgb[this.level](x)) as tf.Tensor4D;
      for (let l = this.level; l >= 1; l--) {
        for (const conv of this.dBlocks[l]) h = lrelu(conv(h)) as tf.Tensor4D;
        h = downsample2x(h);
        if (l === this.level && this.alpha < 1) {
          const skip = lrelu(this.fromRgb[l - 1](downsample2x(x))) as tf.Tensor4D;
          h = lerp(skip, h, this.alpha);
        }
      }
      h = minibatchStdDev(h, this.config.mbstdGroupSize);
      h = lrelu(this.dFinalConv(h)) as tf.Tensor4D;
      const flat = h.reshape([h.shape[0], -1]) as tf.Tensor2D;
      return this.dDense1(lrelu(this.dDense0(flat)) as tf.Tensor2D);
    });
  }
}
