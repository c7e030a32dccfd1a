// Fixed-resolution baselines (seed 002: "a traditional fully convolutional network ... upconvolutions and
// strided convolutions", loss swapped per family): dcgan = non-saturating, lsgan = least squares, hinge.
// G: dense -> 4x4 -> [transposed conv 4x4 stride 2, ReLU]* -> 3x3 conv -> tanh. D: [conv 4x4 stride 2,
// leaky ReLU]* -> dense. Weights N(0, 0.02) as in DCGAN. No batch norm: its running statistics would be
// extra checkpoint state and the baselines exist to compare losses, not to win.
import { InvalidInput } from "@synthmri/core";
import type { Init } from "../layers/param-store.js";
import { type GanConfig, featureMaps, validateGanConfig } from "./config.js";
import type { LossKind } from "./losses.js";
import { networkChannels } from "./mask-encoding.js";
import { AdversarialModel, type Growth } from "./model.js";
import { lrelu } from "./ops.js";
import { tf } from "./tf.js";

const LOSS_OF: Record<string, LossKind> = { dcgan: "non-saturating", lsgan: "least-squares", hinge: "hinge" };
const INIT: Init = { kind: "normal", std: 0.02 };
const ZEROS: Init = { kind: "zeros" };

export class DcganModel extends AdversarialModel {
  private readonly levels: number;

  constructor(config: GanConfig, seed: number) {
    validateGanConfig(config);
    const loss = LOSS_OF[config.family];
    if (!loss) throw new InvalidInput(`DcganModel serves families dcgan, lsgan, hinge; got "${config.family}"`);
    super(config, seed, loss);
    this.levels = Math.log2(config.resolution) - 2;
    const g = this.gParams;
    const d = this.dParams;
    const nf = (l: number) => featureMaps(config, l + 2);
    g.add("dense/w", [config.latentSize, 16 * nf(0)], INIT);
    g.add("dense/b", [16 * nf(0)], ZEROS);
    for (let l = 1; l <= this.levels; l++) {
      // conv2dTranspose filter layout: [k, k, outChannels, inChannels].
      g.add(`up${l}/w`, [4, 4, nf(l), nf(l - 1)], INIT);
      g.add(`up${l}/b`, [nf(l)], ZEROS);
    }
    g.add("out/w", [3, 3, nf(this.levels), networkChannels(config)], INIT);
    g.add("out/b", [networkChannels(config)], ZEROS);
    for (let l = this.levels; l >= 1; l--) {
      d.add(`down${l}/w`, [4, 4, l === this.levels ? networkChannels(config) : nf(l), nf(l - 1)], INIT);
      d.add(`down${l}/b`, [nf(l - 1)], ZEROS);
    }
    d.add("dense/w", [16 * nf(0), 1], INIT);
    d.add("dense/b", [1], ZEROS);
  }

  growth(): Growth {
    return { level: this.levels, alpha: 1 };
  }

  setGrowth(g: Growth): void {
    if (g.level !== this.levels) {
      throw new InvalidInput(
        `${this.config.family} trains at one resolution (level ${this.levels}); got level ${g.level}`,
      );
    }
  }

  generate(z: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const g = this.gParams;
      const n = z.shape[0];
      const c0 = g.get("dense/b").shape[0] / 16;
      let h = tf.relu(tf.matMul(z, g.get("dense/w")).add(g.get("dense/b"))).reshape([n, 4, 4, c0]) as tf.Tensor4D;
      for (let l = 1; l <= this.levels; l++) {
        const w = g.get(`up${l}/w`) as tf.Tensor4D;
        const side = 4 * 2 ** l;
        h = tf.relu(
          tf.conv2dTranspose(h, w, [n, side, side, w.shape[2]], 2, "same").add(g.get(`up${l}/b`)),
        ) as tf.Tensor4D;
      }
      return tf.tanh(tf.conv2d(h, g.get("out/w") as tf.Tensor4D, 1, "same").add(g.get("out/b"))) as tf.Tensor4D;
    });
  }

  discriminate(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const d = this.dParams;
      let h: tf.Tensor4D = x;
      for (let l = this.levels; l >= 1; l--) {
        h = lrelu(tf.conv2d(h, d.get(`down${l}/w`) as tf.Tensor4D, 2, "same").add(d.get(`down${l}/b`))) as tf.Tensor4D;
      }
      return tf
        .matMul(h.reshape([h.shape[0], -1]) as tf.Tensor2D, d.get("dense/w") as tf.Tensor2D)
        .add(d.get("dense/b")) as tf.Tensor2D;
    });
  }
}
