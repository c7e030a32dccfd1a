// DDPM training (epsilon or v objective at a uniformly drawn timestep) and DDIM sampling (eta = 0) with the
// EMA weights. Every random draw of training (timesteps, noise) comes from the model's own Rng, which the state
// carries, so a resumed run repeats the uninterrupted arithmetic exactly; sampling is a pure function of the
// initial noise, which `generate` takes as its latent (latentSize = r * r * the network's channels).
import { networkChannels } from "../../gan/mask-encoding.js";
import { InvalidInput } from "@synthmri/core";
import { tf } from "../../backend/tf.js";
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
import { type DdpmConfig, validateDdpmConfig } from "./config.js";
import { alphaBars, ddimTimesteps } from "./schedule.js";
import { unet } from "./unet.js";

export class DdpmModel implements FamilyModel<DdpmConfig> {
  private readonly net: ParamStore;
  private readonly ema: ParamStore;
  private readonly opt: Optimizer;
  private rng: Rng;
  private readonly abar: Float64Array;
  private stepCount = 0;

  constructor(
    readonly config: DdpmConfig,
    readonly seed: number,
  ) {
    validateDdpmConfig(config);
    this.net = new ParamStore(seed);
    this.ema = new ParamStore(0);
    this.rng = new Rng((seed ^ 0x3c6ef372) >>> 0);
    this.abar = alphaBars(config.schedule, config.timesteps);
    // Building pass: one forward creates every parameter in a fixed order with the store's seeded init.
    const r = config.resolution;
    tf.tidy(() => {
      unet(new Scope(this.net, true), config, tf.zeros([1, r, r, networkChannels(config)]), [0]);
    });
    emaCopy(this.net, this.ema);
    this.opt = adam({ lr: config.learningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  }

  get paramCount(): number {
    return this.net.count();
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

  /** Noise prediction of the training weights (tests, benches). */
  predict(x: tf.Tensor4D, t: ArrayLike<number>, weights: "net" | "ema" = "net"): tf.Tensor4D {
    return unet(new Scope(weights === "net" ? this.net : this.ema, false), this.config, x, t);
  }

  /** The diffusion loss at given timesteps and noise (no update): mean squared error of the prediction. */
  loss(x0: tf.Tensor4D, t: Int32Array, noise: tf.Tensor4D): tf.Scalar {
    return tf.tidy(() => {
      const n = x0.shape[0];
      const a = tf.tensor4d(
        Float32Array.from(t, (k) => Math.sqrt(this.abar[k])),
        [n, 1, 1, 1],
      );
      const b = tf.tensor4d(
        Float32Array.from(t, (k) => Math.sqrt(1 - this.abar[k])),
        [n, 1, 1, 1],
      );
      const xt = tf.add(tf.mul(x0, a), tf.mul(noise, b)) as tf.Tensor4D;
      const target = this.config.prediction === "eps" ? noise : tf.sub(tf.mul(noise, a), tf.mul(x0, b));
      return tf.mean(tf.square(tf.sub(this.predict(xt, t), target))) as tf.Scalar;
    });
  }

  private stepTensor(real: tf.Tensor4D): tf.Scalar {
    const [n, h, w, c] = real.shape;
    const r = this.config.resolution;
    const channels = networkChannels(this.config);
    if (h !== r || w !== r || c !== channels)
      throw new InvalidInput(`real batch is ${h}x${w}x${c}; the DDPM is configured for ${r}x${r}x${channels}`);
    const t = Int32Array.from({ length: n }, () => this.rng.int(this.config.timesteps));
    const noise = tf.tensor4d(this.rng.fillNormal(new Float32Array(real.size)), [n, h, w, c]);
    try {
      const { value, grads } = this.net.valueAndGrads(() => this.loss(real, t, noise));
      this.opt.apply(this.net, grads);
      emaUpdate(this.net, this.ema, this.config.emaDecay);
      this.stepCount += 1;
      return value;
    } finally {
      noise.dispose();
    }
  }

  trainStep(real: tf.Tensor4D): FamilyLosses {
    const v = this.stepTensor(real);
    try {
      return { loss: v.dataSync()[0] };
    } finally {
      v.dispose();
    }
  }

  async trainStepAsync(real: tf.Tensor4D): Promise<FamilyLosses> {
    const v = this.stepTensor(real);
    try {
      return { loss: (await v.data())[0] };
    } finally {
      v.dispose();
    }
  }

  /** DDIM (eta = 0) from initial noise z [n, r*r*C] with `steps` steps (default config.samplingSteps), EMA weights. */
  generate(z: tf.Tensor2D, steps = this.config.samplingSteps): tf.Tensor4D {
    const { resolution: r, timesteps: T } = this.config;
    const C = networkChannels(this.config);
    if (z.shape[1] !== this.config.latentSize)
      throw new InvalidInput(`DDPM latents have ${z.shape[1]} values, the model needs ${this.config.latentSize}`);
    if (!Number.isInteger(steps) || steps < 1 || steps > T)
      throw new InvalidInput(`DDIM steps must be an integer in 1..${T}, got ${steps}`);
    const n = z.shape[0];
    const seq = ddimTimesteps(T, steps);
    let x = tf.reshape(z, [n, r, r, C]) as tf.Tensor4D;
    for (let i = 0; i < seq.length; i++) {
      const t = seq[i];
      const ab = this.abar[t];
      const abPrev = i + 1 < seq.length ? this.abar[seq[i + 1]] : 1;
      const next = tf.tidy(() => {
        const out = this.predict(x, new Int32Array(n).fill(t), "ema");
        const sa = Math.sqrt(ab);
        const sb = Math.sqrt(1 - ab);
        const x0raw =
          this.config.prediction === "eps"
            ? tf.div(tf.sub(x, tf.mul(out, sb)), sa)
            : tf.sub(tf.mul(x, sa), tf.mul(out, sb));
        const x0 = tf.clipByValue(x0raw, -1, 1);
        if (abPrev === 1) return x0 as tf.Tensor4D;
        // Noise re-derived from the clipped x0 (as ADM's DDIM does), then moved to the previous timestep.
        const eps = tf.div(tf.sub(x, tf.mul(x0, sa)), sb);
        return tf.add(tf.mul(x0, Math.sqrt(abPrev)), tf.mul(eps, Math.sqrt(1 - abPrev))) as tf.Tensor4D;
      });
      x.dispose();
      x = next;
    }
    return x;
  }

  state(): FamilyState<DdpmConfig> {
    return {
      format: "synthmri-family-state",
      version: 1,
      family: "ddpm",
      config: this.config,
      seed: this.seed,
      rng: this.rng.getState(),
      steps: this.stepCount,
      weights: { net: storeArrays(this.net), ema: storeArrays(this.ema) },
      optimizers: { net: optimizerArrays(this.opt) },
      scalars: {},
    };
  }

  async stateAsync(): Promise<FamilyState<DdpmConfig>> {
    await readable();
    return this.state();
  }

  loadState(s: FamilyState<DdpmConfig>): void {
    checkState(s, "ddpm", this.config);
    loadStoreArrays(this.net, s.weights.net, "net");
    loadStoreArrays(this.ema, s.weights.ema, "ema");
    loadOptimizerArrays(this.opt, s.optimizers.net, "net");
    this.rng = Rng.fromState(s.rng);
    this.stepCount = s.steps;
  }

  dispose(): void {
    this.net.dispose();
    this.ema.dispose();
    this.opt.dispose();
  }
}
