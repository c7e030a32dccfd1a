// The GanModel contract and the adversarial training step shared by every family. A concrete model supplies
// its two networks (generator, discriminator) over two ParamStores; this class owns the optimizers (layers/
// Adam, per-parameter step counts), the Rng that draws latents and GP mixing weights, and the state a
// checkpoint needs.
import { InvalidInput } from "@synthmri/core";
import { hostReadable } from "../backend/host-read.js";
import { adam, type Optimizer } from "../layers/optimizers.js";
import { ParamStore } from "../layers/param-store.js";
import type { NamedArray } from "../layers/tensor-blob.js";
import { Rng, type RngState } from "../random/index.js";
import { type AdamState, adamStateOf, loadAdamState } from "./adam-state.js";
import type { GanConfig } from "./config.js";
import { networkChannels } from "./mask-encoding.js";
import { discriminatorLoss, generatorLoss, gradientPenalty, type LossKind } from "./losses.js";
import { tf } from "./tf.js";

export interface StepLosses {
  d: number;
  g: number;
  /** Gradient penalty (wgan-gp only). */
  gp?: number;
}

/** Progressive-growing position: level 0 = 4x4; alpha in [0,1] fades the newest block in. */
export interface Growth {
  level: number;
  alpha: number;
}

export interface GanState {
  format: "synthmri-gan-state";
  version: 1;
  config: GanConfig;
  seed: number;
  growth: Growth;
  rng: { s: RngState; spare: number | null };
  steps: number;
  generator: NamedArray[];
  discriminator: NamedArray[];
  generatorOptimizer: AdamState;
  discriminatorOptimizer: AdamState;
  /** The generator's moving average (config.generatorEmaDecay set); absent in states written without one. */
  generatorEma?: NamedArray[];
}

export interface GanModel {
  readonly config: GanConfig;
  readonly seed: number;
  /** Trainable parameters of generator + discriminator (all resolutions). */
  readonly paramCount: number;
  /** Current image side: grows during PGAN training, fixed for the baselines. */
  readonly currentResolution: number;
  growth(): Growth;
  /** PGAN only: moves to a level/alpha (baselines accept only their single level). */
  setGrowth(g: Growth): void;
  /** Latents [n, latentSize] drawn from the model's Rng (N(0,1)). */
  sampleLatents(n: number): tf.Tensor2D;
  /** z [n, latent] -> images [n, r, r, channels] at the current resolution (PGAN: linear, roughly [-1,1]). */
  generate(z: tf.Tensor2D): tf.Tensor4D;
  /** images at the current resolution -> scores [n, 1]. */
  discriminate(x: tf.Tensor4D): tf.Tensor2D;
  /** One D update then one G update on a real batch at the current resolution (synchronous backends only). */
  trainStep(realBatch: tf.Tensor4D): StepLosses;
  /** The same step with the losses read asynchronously: works on every backend, webgpu included. */
  trainStepAsync(realBatch: tf.Tensor4D): Promise<StepLosses>;
  /** Checkpointable state (synchronous backends only). */
  state(): GanState;
  /** The same state, downloading weights and moments first: works on every backend. */
  stateAsync(): Promise<GanState>;
  loadState(s: GanState): void;
  /**
   * Sampling only: replaces the generator's weights by their moving average (PGAN samples from Gs). Returns
   * false (weights unchanged) when the model keeps no average. Training after this is not meaningful.
   */
  useAveragedGenerator(): boolean;
  dispose(): void;
}

export abstract class AdversarialModel implements GanModel {
  protected rng: Rng;
  /** Generator and discriminator weights; both draw their initial values from the model's Rng. */
  protected readonly gParams: ParamStore;
  protected readonly dParams: ParamStore;
  private readonly gOpt: Optimizer;
  private readonly dOpt: Optimizer;
  /** Moving average of each generator parameter (by name), when config.generatorEmaDecay is set. */
  private gEma: Map<string, tf.Variable> | null = null;
  protected steps = 0;

  protected constructor(
    readonly config: GanConfig,
    readonly seed: number,
    protected readonly loss: LossKind,
  ) {
    this.rng = new Rng(seed);
    this.gParams = new ParamStore(this.rng, "G/");
    this.dParams = new ParamStore(this.rng, "D/");
    const { learningRate: lr, beta1, beta2, epsilon: eps } = config.adam;
    this.gOpt = adam({ lr, beta1, beta2, eps });
    this.dOpt = adam({ lr, beta1, beta2, eps });
  }

  /**
   * The generator's moving average, created from the current weights on first use (the subclass defines the
   * weights after this constructor; the first use is before the first step, so it starts as PGAN's Gs: a clone
   * of G at step 0). Null without config.generatorEmaDecay.
   */
  private ema(): Map<string, tf.Variable> | null {
    if (!this.config.generatorEmaDecay) return null;
    // The clone is disposed once the variable holds its data (a variable keeps its own reference), so disposing
    // the model releases every tensor the average made.
    this.gEma ??= new Map(
      this.gParams.names().map((name) => {
        const copy = this.gParams.get(name).clone();
        const v = tf.variable(copy, false);
        copy.dispose();
        return [name, v];
      }),
    );
    return this.gEma;
  }

  /** ema <- decay * ema + (1 - decay) * w, after every generator step. */
  private updateEma(): void {
    const decay = this.config.generatorEmaDecay;
    const ema = this.ema();
    if (!ema || !decay) return;
    for (const [name, e] of ema) {
      const w = this.gParams.get(name);
      tf.tidy(() => {
        e.assign(e.mul(decay).add(w.mul(1 - decay)));
      });
    }
  }

  useAveragedGenerator(): boolean {
    const ema = this.ema();
    if (!ema) return false;
    for (const [name, e] of ema) this.gParams.get(name).assign(e);
    return true;
  }

  get paramCount(): number {
    return this.gParams.count() + this.dParams.count();
  }

  get currentResolution(): number {
    return 4 * 2 ** this.growth().level;
  }

  abstract growth(): Growth;
  abstract setGrowth(g: Growth): void;
  abstract generate(z: tf.Tensor2D): tf.Tensor4D;
  abstract discriminate(x: tf.Tensor4D): tf.Tensor2D;

  sampleLatents(n: number): tf.Tensor2D {
    const z = this.rng.fillNormal(new Float32Array(n * this.config.latentSize));
    return tf.tensor2d(z, [n, this.config.latentSize]);
  }

  trainStep(real: tf.Tensor4D): StepLosses {
    const t = this.stepTensors(real);
    try {
      return { d: t.d.dataSync()[0], g: t.g.dataSync()[0], ...(t.gp ? { gp: t.gp.dataSync()[0] } : {}) };
    } finally {
      tf.dispose([t.d, t.g, ...(t.gp ? [t.gp] : [])]);
    }
  }

  async trainStepAsync(real: tf.Tensor4D): Promise<StepLosses> {
    const t = this.stepTensors(real);
    try {
      const [d, g, gp] = await Promise.all([t.d.data(), t.g.data(), t.gp?.data()]);
      return { d: d[0], g: g[0], ...(gp ? { gp: gp[0] } : {}) };
    } finally {
      tf.dispose([t.d, t.g, ...(t.gp ? [t.gp] : [])]);
    }
  }

  /**
   * Both updates, returning the loss scalars unread (the caller reads and disposes them): reading them after the
   * G step instead of between the steps changes no arithmetic, and lets the read be synchronous or awaited.
   */
  private stepTensors(real: tf.Tensor4D): { d: tf.Scalar; g: tf.Scalar; gp: tf.Scalar | null } {
    this.ema(); // the average starts from the weights before the first step
    const r = this.currentResolution;
    const [n, h, w, c] = real.shape;
    const channels = networkChannels(this.config);
    if (h !== r || w !== r || c !== channels) {
      throw new InvalidInput(`real batch is ${h}x${w}x${c}; the model is at ${r}x${r}x${channels}`);
    }
    // Discriminator step. The fake batch is made outside the gradient scope, so G's ops are not taped.
    const z = this.sampleLatents(n);
    const fake = tf.tidy(() => this.generate(z));
    z.dispose();
    const u = this.loss === "wgan-gp" ? this.rng.fillUniform(new Float32Array(n)) : null;
    let gpValue: tf.Scalar | null = null;
    const dStep = this.dParams.valueAndGrads(() => {
      const dReal = this.discriminate(real);
      const dFake = this.discriminate(fake);
      let loss = discriminatorLoss(this.loss, dReal, dFake, this.config.driftEpsilon);
      if (u) {
        const gp = gradientPenalty((x) => this.discriminate(x), real, fake, u);
        gpValue = tf.keep(gp.clone());
        loss = loss.add(gp.mul(this.config.gpLambda)) as tf.Scalar;
      }
      return loss;
    });
    fake.dispose();
    this.dOpt.apply(this.dParams, dStep.grads);
    // Generator step with fresh latents.
    const z2 = this.sampleLatents(n);
    const gStep = this.gParams.valueAndGrads(() => generatorLoss(this.loss, this.discriminate(this.generate(z2))));
    z2.dispose();
    this.gOpt.apply(this.gParams, gStep.grads);
    this.updateEma();
    this.steps += 1;
    return { d: dStep.value, g: gStep.value, gp: gpValue };
  }

  async stateAsync(): Promise<GanState> {
    await hostReadable([
      ...this.gParams.variables(),
      ...this.dParams.variables(),
      ...this.gOpt.variables(),
      ...this.dOpt.variables(),
      ...(this.ema()?.values() ?? []),
    ]);
    return this.state();
  }

  state(): GanState {
    return {
      format: "synthmri-gan-state",
      version: 1,
      config: this.config,
      seed: this.seed,
      growth: this.growth(),
      rng: this.rng.getState(),
      steps: this.steps,
      generator: this.gParams.toArrays(),
      discriminator: this.dParams.toArrays(),
      generatorOptimizer: adamStateOf(this.gOpt, this.gParams),
      discriminatorOptimizer: adamStateOf(this.dOpt, this.dParams),
      ...(this.ema()
        ? {
            generatorEma: [...(this.ema() as Map<string, tf.Variable>).entries()].map(([name, v]) => ({
              name,
              shape: [...v.shape],
              data: new Float32Array(v.dataSync()),
            })),
          }
        : {}),
    };
  }

  loadState(s: GanState): void {
    if (s.format !== "synthmri-gan-state" || s.version !== 1)
      throw new InvalidInput("not a synthmri GAN state (format/version)");
    if (canonical(s.config) !== canonical(this.config)) {
      throw new InvalidInput(
        "checkpoint was written with a different GAN config; build the model from the checkpoint's config",
      );
    }
    this.gParams.loadArrays(s.generator, "checkpoint");
    this.dParams.loadArrays(s.discriminator, "checkpoint");
    loadAdamState(this.gOpt, this.gParams, s.generatorOptimizer, s.steps);
    loadAdamState(this.dOpt, this.dParams, s.discriminatorOptimizer, s.steps);
    const ema = this.ema();
    if (ema) {
      const saved = new Map((s.generatorEma ?? []).map((a) => [a.name, a]));
      for (const [name, e] of ema) {
        const a = saved.get(name);
        if (!a) throw new InvalidInput(`checkpoint has no moving average of generator parameter ${name}`);
        const t = tf.tensor(a.data, a.shape);
        e.assign(t);
        t.dispose();
      }
    }
    // Restore the Rng in place: same stream continues.
    this.rng = Rng.fromState(s.rng);
    this.steps = s.steps;
    this.setGrowth(s.growth);
  }

  dispose(): void {
    this.gParams.dispose();
    this.dParams.dispose();
    this.gOpt.dispose();
    this.dOpt.dispose();
    for (const e of this.gEma?.values() ?? []) e.dispose();
    this.gEma = null;
  }
}

/** JSON with sorted keys, so configs compare equal whatever order their fields were written in. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : 1)))
      : val,
  );
}
