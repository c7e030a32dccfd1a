// nnU-Net-style 2-D U-Net, NHWC, functional over a ParamStore (shared/peers/SPEC.md section 1 is the same
// structure): Stage = 2 x (conv3x3 -> InstanceNorm -> LeakyReLU), stride-2 conv to go down, transposed conv
// 2x2 to go up, concat [up, skip], a 1x1 head at each supervised decoder level.
import { InvalidInput } from "@synthmri/core";
import { tf } from "../backend/tf.js";
import { conv2d, conv2dFirstOrder, convTranspose2x2 } from "../layers/ops.js";
import { ParamStore } from "../layers/param-store.js";
import { sizeMultiple, type UNetConfig, unetConfig } from "./config.js";
import { instanceNormLeakyReluFast } from "./norm-act.js";

export class UNet {
  readonly config: UNetConfig;
  readonly params: ParamStore;

  /** Builds the net with He-normal weights (nnU-Net's init, gain for LeakyReLU 0.01) drawn from `seed`. */
  constructor(config: Partial<UNetConfig> = {}, seed = 0) {
    this.config = unetConfig(config);
    this.params = new ParamStore(seed);
    this.build();
  }

  private convParams(name: string, k: number, cin: number, cout: number): void {
    const gain = Math.sqrt(2 / (1 + this.config.leakySlope ** 2));
    this.params.add(`${name}.w`, [k, k, cin, cout], { kind: "he", gain });
    this.params.add(`${name}.b`, [cout], { kind: "zeros" });
  }

  private blockParams(name: string, cin: number, cout: number): void {
    this.convParams(`${name}.conv`, 3, cin, cout);
    this.params.add(`${name}.norm.g`, [cout], { kind: "ones" });
    this.params.add(`${name}.norm.b`, [cout], { kind: "zeros" });
  }

  private build(): void {
    const { widths, inChannels, numClasses, deepSupervisionHeads } = this.config;
    let cin = inChannels;
    widths.forEach((w, i) => {
      this.blockParams(`enc${i}.0`, cin, w);
      this.blockParams(`enc${i}.1`, w, w);
      cin = w;
    });
    for (let d = widths.length - 2; d >= 0; d--) {
      const w = widths[d];
      const below = widths[d + 1];
      // conv2dTranspose layout [2, 2, Cout, Cin]; fan-in of a 2x2 stride-2 transposed conv is Cin.
      this.params.add(`dec${d}.up.w`, [2, 2, w, below], { kind: "he", fanIn: below });
      this.params.add(`dec${d}.up.b`, [w], { kind: "zeros" });
      this.blockParams(`dec${d}.0`, 2 * w, w);
      this.blockParams(`dec${d}.1`, w, w);
      if (d < deepSupervisionHeads) this.convParams(`dec${d}.head`, 1, w, numClasses);
    }
  }

  /** dataInput: x is the net's input, for which training needs no gradient (see conv2dFirstOrder). */
  private block(name: string, x: tf.Tensor4D, stride: number, dataInput = false): tf.Tensor4D {
    const p = this.params;
    const conv = dataInput ? conv2d : conv2dFirstOrder;
    const y = conv(x, p.get(`${name}.conv.w`) as tf.Tensor4D, p.get(`${name}.conv.b`) as tf.Tensor1D, stride, "same");
    const g = p.get(`${name}.norm.g`) as tf.Tensor1D;
    return instanceNormLeakyReluFast(y, g, p.get(`${name}.norm.b`) as tf.Tensor1D, this.config.leakySlope);
  }

  private head(d: number, x: tf.Tensor4D): tf.Tensor4D {
    const p = this.params;
    return conv2dFirstOrder(
      x,
      p.get(`dec${d}.head.w`) as tf.Tensor4D,
      p.get(`dec${d}.head.b`) as tf.Tensor1D,
      1,
      "valid",
    );
  }

  /**
   * x [B,H,W,inChannels] (z-scored), H and W divisible by 2^(levels-1). Training: logits of every
   * supervised head, index d at resolution H/2^d (d = 0 is the main output). Inference: only [logits at H].
   */
  forward(x: tf.Tensor4D, options: { training?: boolean } = {}): tf.Tensor4D[] {
    const { widths, inChannels, deepSupervisionHeads } = this.config;
    const [, h, w, c] = x.shape;
    if (c !== inChannels) throw new InvalidInput(`U-Net expects ${inChannels} input channels, got ${c}`);
    const m = sizeMultiple(this.config);
    if (h % m !== 0 || w % m !== 0)
      throw new InvalidInput(`U-Net input ${h}x${w} must be divisible by ${m}; pad or crop the slices first`);
    const training = options.training ?? false;
    return tf.tidy(() => {
      const skips: tf.Tensor4D[] = [];
      let y = x;
      for (let i = 0; i < widths.length; i++) {
        y = this.block(`enc${i}.0`, y, i === 0 ? 1 : 2, training && i === 0);
        y = this.block(`enc${i}.1`, y, 1);
        skips.push(y);
      }
      const outs: tf.Tensor4D[] = [];
      const p = this.params;
      for (let d = widths.length - 2; d >= 0; d--) {
        const up = convTranspose2x2(y, p.get(`dec${d}.up.w`) as tf.Tensor4D, p.get(`dec${d}.up.b`) as tf.Tensor1D);
        y = tf.concat([up, skips[d]], 3);
        y = this.block(`dec${d}.0`, y, 1);
        y = this.block(`dec${d}.1`, y, 1);
        if (training && d < deepSupervisionHeads) outs[d] = this.head(d, y);
      }
      return training ? outs : [this.head(0, y)];
    });
  }

  /**
   * Encoder features of a trained net, for feature distances (a Fréchet distance on features this net learnt
   * from the real data, not random convolutions): the spatial maximum of every encoder level's output,
   * concatenated, [B, sum(widths)]. Not the mean: after instance normalisation a channel's spatial mean is
   * nearly the same for every image, its peak response is not. x as in forward.
   */
  encode(x: tf.Tensor4D): tf.Tensor2D {
    const { widths, inChannels } = this.config;
    const c = x.shape[3];
    if (c !== inChannels) throw new InvalidInput(`U-Net expects ${inChannels} input channels, got ${c}`);
    return tf.tidy(() => {
      const pooled: tf.Tensor2D[] = [];
      let y = x;
      for (let i = 0; i < widths.length; i++) {
        y = this.block(`enc${i}.0`, y, i === 0 ? 1 : 2);
        y = this.block(`enc${i}.1`, y, 1);
        pooled.push(y.max([1, 2]) as tf.Tensor2D);
      }
      return tf.concat(pooled, 1) as tf.Tensor2D;
    });
  }

  /** Number of trainable scalars (bench-unet: 1,945,152). */
  parameterCount(): number {
    return this.params.count();
  }

  dispose(): void {
    this.params.dispose();
  }
}
