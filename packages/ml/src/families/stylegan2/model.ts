// StyleGAN2 training: non-saturating logistic loss, lazy R1 on reals (every r1Interval steps, weighted by the
// interval), lazy path-length regularisation (every plInterval steps, half batch), generator EMA. Joint output:
// 4 sequences + a softmax segmentation head; D sees sequences + class probabilities (reals: one-hot of their
// mask), and `generate` returns PGAN's 5-channel layout with the mask channel at the level of the argmax class.
// Regularisers are added to the main loss of the same step instead of a separate optimizer pass (StyleGAN2 runs
// them as separate passes with Adam's rate/betas adjusted): one forward/backward less per regularised step.
import { InvalidInput } from "@synthmri/core";
import { tf } from "../../backend/tf.js";
import { MASK_LEVELS } from "../../gan/mask-encoding.js";
import { adam, type Optimizer } from "../../layers/optimizers.js";
import { ParamStore } from "../../layers/param-store.js";
import { Rng } from "../../random/index.js";
import {
  checkState,
  type FamilyLosses,
  type FamilyModel,
  type FamilyState,
  loadOptimizerArrays,
  loadStoreArrays,
  normalLatents,
  optimizerArrays,
  readable,
  storeArrays,
} from "../model.js";
import { emaCopy, emaUpdate, Scope } from "../scope.js";
import { SEQUENCE_CHANNELS, type StyleGan2Config, validateStyleGan2Config } from "./config.js";
import { discriminator, jointImage, mapping, type NoiseSource, synthesis } from "./networks.js";

interface StepTensors {
  /** Adversarial losses without the regularisers (those are r1 and pl). */
  d: tf.Scalar;
  g: tf.Scalar;
  r1: tf.Scalar | null;
  pl: tf.Tensor1D | null;
}

export class StyleGan2Model implements FamilyModel<StyleGan2Config> {
  private readonly g: ParamStore;
  private readonly d: ParamStore;
  private readonly gEma: ParamStore;
  private readonly gOpt: Optimizer;
  private readonly dOpt: Optimizer;
  private rng: Rng;
  private stepCount = 0;
  private plMean = 0;

  constructor(
    readonly config: StyleGan2Config,
    readonly seed: number,
  ) {
    validateStyleGan2Config(config);
    this.g = new ParamStore(seed);
    this.d = new ParamStore((seed ^ 0x9e3779b9) >>> 0);
    this.gEma = new ParamStore(0);
    this.rng = new Rng((seed ^ 0x3c6ef372) >>> 0);
    const r = config.resolution;
    // Building pass: G (with its constant noise buffers), then D, each in a fixed order.
    tf.tidy(() => {
      const z = tf.zeros([1, config.latentSize]) as tf.Tensor2D;
      const out = synthesis(
        new Scope(this.g, true),
        config,
        mapping(new Scope(this.g, true), config, z),
        this.constNoise(true),
      );
      discriminator(new Scope(this.d, true), config, jointImage(out));
      void r;
    });
    emaCopy(this.g, this.gEma);
    const opts = { lr: config.learningRate, beta1: 0, beta2: 0.99, eps: 1e-8 };
    this.gOpt = adam(opts);
    this.dOpt = adam(opts);
  }

  /** Constant per-layer noise buffers (StyleGAN2's noise_mode='const'), part of G's weights, not trained. */
  private constNoise(create: boolean, store: ParamStore = this.g): NoiseSource {
    return (layer, n, side) => {
      const name = `${layer}.noise_const`;
      if (create && !store.has(name)) store.add(name, [1, side, side, 1], { kind: "normal", std: 1 }, false);
      return tf.mul(tf.ones([n, 1, 1, 1]), store.get(name)) as tf.Tensor4D;
    };
  }

  /** Fresh N(0,1) noise per layer from the model's Rng (training). */
  private randomNoise(): NoiseSource {
    return (_layer, n, side) => tf.tensor4d(this.rng.fillNormal(new Float32Array(n * side * side)), [n, side, side, 1]);
  }

  get paramCount(): number {
    return this.g.count() + this.d.count() - this.noiseBufferSize();
  }

  private noiseBufferSize(): number {
    return this.g
      .names()
      .filter((n) => n.endsWith(".noise_const"))
      .reduce((a, n) => a + this.g.get(n).size, 0);
  }

  /** The weight sets (gradient checks, benches). */
  store(role: "generator" | "discriminator" | "generatorEma"): ParamStore {
    return role === "generator" ? this.g : role === "discriminator" ? this.d : this.gEma;
  }

  get currentResolution(): number {
    return this.config.resolution;
  }

  get steps(): number {
    return this.stepCount;
  }

  sampleLatents(n: number): tf.Tensor2D {
    return normalLatents(this.rng, n, this.config.latentSize);
  }

  /** Sequences + class probabilities [n, r, r, 4 + classes] of the training (or EMA) generator, given noise. */
  synthesize(z: tf.Tensor2D, weights: "g" | "ema", noise?: NoiseSource): tf.Tensor4D {
    const store = weights === "g" ? this.g : this.gEma;
    const s = new Scope(store, false);
    return jointImage(synthesis(s, this.config, mapping(s, this.config, z), noise ?? this.constNoise(false, store)));
  }

  /** D's score [n, 1] of a joint image [n, r, r, 4 + classes]. */
  discriminate(x: tf.Tensor4D): tf.Tensor2D {
    return discriminator(new Scope(this.d, false), this.config, x);
  }

  /** 5-channel images of the EMA generator with constant noise: sequences + the argmax class's mask level. */
  generate(z: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      const joint = this.synthesize(z, "ema");
      const seq = tf.slice(joint, [0, 0, 0, 0], [-1, -1, -1, SEQUENCE_CHANNELS]);
      const cls = tf.argMax(tf.slice(joint, [0, 0, 0, SEQUENCE_CHANNELS], [-1, -1, -1, -1]), 3);
      const levels = tf.tensor1d(MASK_LEVELS.slice(0, this.config.classes));
      const mask = tf.expandDims(tf.gather(levels, cls), 3);
      return tf.concat([seq, mask], 3) as tf.Tensor4D;
    });
  }

  /** A real 5-channel batch as D's input: sequences + one-hot of the mask's nearest level. */
  realJoint(real: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const seq = tf.slice(real, [0, 0, 0, 0], [-1, -1, -1, SEQUENCE_CHANNELS]);
      const mask = tf.slice(real, [0, 0, 0, SEQUENCE_CHANNELS], [-1, -1, -1, 1]);
      const levels = tf.tensor1d(MASK_LEVELS.slice(0, this.config.classes));
      const cls = tf.argMin(tf.abs(tf.sub(mask, levels)), 3);
      return tf.concat([seq, tf.oneHot(cls, this.config.classes).toFloat()], 3) as tf.Tensor4D;
    });
  }

  /** R1: E[ ||grad_x D(x)||^2 ] at the reals (the nested gradient is differentiated w.r.t. D's weights). */
  r1Penalty(realJoint: tf.Tensor4D): tf.Scalar {
    const grad = tf.grad((x: tf.Tensor) => tf.sum(this.discriminate(x as tf.Tensor4D)))(realJoint);
    return tf.mean(tf.sum(tf.square(grad), [1, 2, 3])) as tf.Scalar;
  }

  /** Path lengths |J_w^T y| per sample, y ~ N(0, 1/(r*r)) over the sequence image (training weights). */
  pathLengths(z: tf.Tensor2D, noise: NoiseSource, y: tf.Tensor4D): tf.Tensor1D {
    const s = new Scope(this.g, false);
    const w = mapping(s, this.config, z);
    const grad = tf.grad((wIn: tf.Tensor) =>
      tf.sum(tf.mul(synthesis(s, this.config, wIn as tf.Tensor2D, noise).sequences, y)),
    )(w);
    return tf.sqrt(tf.add(tf.sum(tf.square(grad), 1), 1e-12)) as tf.Tensor1D;
  }

  private stepTensors(real: tf.Tensor4D): StepTensors {
    const c = this.config;
    const [n, h, w, ch] = real.shape;
    if (h !== c.resolution || w !== c.resolution || ch !== c.channels)
      throw new InvalidInput(
        `real batch is ${h}x${w}x${ch}; StyleGAN2 is configured for ${c.resolution}x${c.resolution}x${c.channels}`,
      );
    const step = this.stepCount;
    const doR1 = c.r1Gamma > 0 && step % c.r1Interval === 0;
    const doPl = c.plWeight > 0 && step % c.plInterval === 0;
    const reals = this.realJoint(real);
    // D: logistic loss on G's images (made outside the tape) and the reals, plus lazy R1.
    const z = this.sampleLatents(n);
    const noise = this.randomNoise();
    const fake = tf.tidy(() => this.synthesize(z, "g", noise));
    let r1: tf.Scalar | null = null;
    let dMain: tf.Scalar | null = null;
    const dStep = this.d.valueAndGrads(() => {
      let loss = tf.add(
        tf.mean(tf.softplus(this.discriminate(fake))),
        tf.mean(tf.softplus(tf.neg(this.discriminate(reals)))),
      );
      dMain = tf.keep(loss.clone()) as tf.Scalar;
      if (doR1) {
        const p = this.r1Penalty(reals);
        r1 = tf.keep(p.clone());
        loss = tf.add(loss, tf.mul(p, (c.r1Gamma / 2) * c.r1Interval));
      }
      return loss as tf.Scalar;
    });
    this.dOpt.apply(this.d, dStep.grads);
    tf.dispose([z, fake]);
    // G: non-saturating loss with fresh latents and noise, plus lazy path-length regularisation.
    const z2 = this.sampleLatents(n);
    const noise2 = this.randomNoise();
    let pl: tf.Tensor1D | null = null;
    let plInputs: { z: tf.Tensor2D; y: tf.Tensor4D } | null = null;
    if (doPl) {
      const m = Math.max(1, Math.floor(n / 2));
      const y = this.rng.fillNormal(new Float32Array(m * h * w * SEQUENCE_CHANNELS), 0, 1 / c.resolution);
      plInputs = { z: this.sampleLatents(m), y: tf.tensor4d(y, [m, h, w, SEQUENCE_CHANNELS]) };
    }
    const plNoise = this.randomNoise();
    let gMain: tf.Scalar | null = null;
    // Default names: the trainable parameters (the constant noise buffers are not).
    const gStep = this.g.valueAndGrads(() => {
      let loss = tf.mean(tf.softplus(tf.neg(this.discriminate(this.synthesize(z2, "g", noise2))))) as tf.Scalar;
      gMain = tf.keep(loss.clone()) as tf.Scalar;
      if (plInputs) {
        const lengths = this.pathLengths(plInputs.z, plNoise, plInputs.y);
        pl = tf.keep(lengths.clone());
        const penalty = tf.mean(tf.square(tf.sub(lengths, this.plMean)));
        loss = tf.add(loss, tf.mul(penalty, c.plWeight * c.plInterval)) as tf.Scalar;
      }
      return loss;
    });
    this.gOpt.apply(this.g, gStep.grads);
    tf.dispose([z2, reals, ...(plInputs ? [plInputs.z, plInputs.y] : [])]);
    const beta = 0.5 ** (n / (1000 * c.emaKimg));
    emaUpdate(this.g, this.gEma, beta);
    this.stepCount += 1;
    tf.dispose([dStep.value, gStep.value]);
    return { d: dMain as unknown as tf.Scalar, g: gMain as unknown as tf.Scalar, r1, pl };
  }

  private finish(t: StepTensors, d: number, g: number, r1: number | null, pl: Float32Array | null): FamilyLosses {
    tf.dispose([t.d, t.g, ...(t.r1 ? [t.r1] : []), ...(t.pl ? [t.pl] : [])]);
    const out: FamilyLosses = { d, g };
    if (r1 !== null) out.r1 = r1;
    if (pl) {
      const mean = pl.reduce((a, b) => a + b, 0) / pl.length;
      // pl_mean <- lerp(pl_mean, mean length, decay), from the lengths of this step (as StyleGAN2).
      this.plMean += (mean - this.plMean) * this.config.plDecay;
      out.pl = mean;
    }
    return out;
  }

  trainStep(real: tf.Tensor4D): FamilyLosses {
    const t = this.stepTensors(real);
    return this.finish(
      t,
      t.d.dataSync()[0],
      t.g.dataSync()[0],
      t.r1 ? t.r1.dataSync()[0] : null,
      t.pl ? (t.pl.dataSync() as Float32Array) : null,
    );
  }

  async trainStepAsync(real: tf.Tensor4D): Promise<FamilyLosses> {
    const t = this.stepTensors(real);
    const [d, g, r1, pl] = await Promise.all([t.d.data(), t.g.data(), t.r1?.data(), t.pl?.data()]);
    return this.finish(t, d[0], g[0], r1 ? r1[0] : null, (pl as Float32Array | undefined) ?? null);
  }

  state(): FamilyState<StyleGan2Config> {
    return {
      format: "synthmri-family-state",
      version: 1,
      family: "stylegan2",
      config: this.config,
      seed: this.seed,
      rng: this.rng.getState(),
      steps: this.stepCount,
      weights: {
        generator: storeArrays(this.g),
        discriminator: storeArrays(this.d),
        generatorEma: storeArrays(this.gEma),
      },
      optimizers: { generator: optimizerArrays(this.gOpt), discriminator: optimizerArrays(this.dOpt) },
      scalars: { plMean: this.plMean },
    };
  }

  async stateAsync(): Promise<FamilyState<StyleGan2Config>> {
    await readable();
    return this.state();
  }

  loadState(s: FamilyState<StyleGan2Config>): void {
    checkState(s, "stylegan2", this.config);
    loadStoreArrays(this.g, s.weights.generator, "generator");
    loadStoreArrays(this.d, s.weights.discriminator, "discriminator");
    loadStoreArrays(this.gEma, s.weights.generatorEma, "generator EMA");
    loadOptimizerArrays(this.gOpt, s.optimizers.generator, "generator");
    loadOptimizerArrays(this.dOpt, s.optimizers.discriminator, "discriminator");
    this.rng = Rng.fromState(s.rng);
    this.stepCount = s.steps;
    this.plMean = s.scalars.plMean ?? 0;
  }

  dispose(): void {
    for (const x of [this.g, this.d, this.gEma]) x.dispose();
    this.gOpt.dispose();
    this.dOpt.dispose();
  }
}
