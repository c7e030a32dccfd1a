// Two-stage model: stage 1 (a PganModel over one-hot label maps) and stage 2 (SPADE) trained side by side on
// the same real batch [n, r, r, 6] = 4 sequences, tumour mask level, tissue level. Stage 1 trains at its final
// level here (the progressive schedule of gan/train.ts can pre-train it; see the report). `generate` chains them:
// stage-1 latent -> label map (argmax) -> SPADE with its own latent -> 4 sequences + the tumour mask level.
import { InvalidInput } from "@synthmri/core";
import { tf } from "../../backend/tf.js";
import { createGan } from "../../gan/create.js";
import type { GanModel, GanState } from "../../gan/model.js";
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
import { Scope } from "../scope.js";
import { LABEL_CLASSES, type SpadeConfig, TISSUE_CLASSES, validateSpadeConfig } from "./config.js";
import { multiscaleD, spadeGenerator } from "./networks.js";

/** Tissue label (0 bg, 1 CSF, 2 GM, 3 WM) -> the value of the tissue channel of a training slice, in [-1, 1]. */
export function tissueLevel(label: number): number {
  return (2 * label) / (TISSUE_CLASSES - 1) - 1;
}

/**
 * One-hot float maps [n, r, r, LABEL_CLASSES] of int32 classes [n, r, r], materialised as float32 by an
 * elementwise op: tfjs-webgpu's casts to float32 (oneHot(...).toFloat(), or from bool) only relabel the int/bool
 * buffer, and its transposing reductions (the label pyramid's average pools) then build an invalid i32 -> f32
 * shader and read zeros. Elementwise programs convert their inputs, so adding 0 makes a real float buffer.
 */
function oneHotFloat(cls: tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const hot = tf.cast(tf.equal(tf.expandDims(cls, 3), tf.range(0, LABEL_CLASSES, 1, "int32")), "float32");
    return tf.add(hot, tf.scalar(0)) as tf.Tensor4D;
  });
}

export class SpadeTwoStageModel implements FamilyModel<SpadeConfig> {
  readonly stage1: GanModel;
  private readonly g: ParamStore;
  private readonly d: ParamStore;
  private readonly gOpt: Optimizer;
  private readonly dOpt: Optimizer;
  private rng: Rng;
  private stepCount = 0;

  constructor(
    readonly config: SpadeConfig,
    readonly seed: number,
  ) {
    validateSpadeConfig(config);
    this.stage1 = createGan(config.stage1, (seed ^ 0x51ed270b) >>> 0);
    const top = Math.log2(config.resolution) - 2;
    this.stage1.setGrowth({ level: top, alpha: 1 });
    this.g = new ParamStore(seed);
    this.d = new ParamStore((seed ^ 0x9e3779b9) >>> 0);
    this.rng = new Rng((seed ^ 0x3c6ef372) >>> 0);
    const r = config.resolution;
    tf.tidy(() => {
      const seg = tf.zeros([1, r, r, LABEL_CLASSES]) as tf.Tensor4D;
      const img = spadeGenerator(new Scope(this.g, true), config, seg, tf.zeros([1, config.zDim]) as tf.Tensor2D);
      multiscaleD(new Scope(this.d, true), config, seg, img);
    });
    this.gOpt = adam({ lr: config.lrG, beta1: 0, beta2: 0.9 });
    this.dOpt = adam({ lr: config.lrD, beta1: 0, beta2: 0.9 });
  }

  get paramCount(): number {
    return this.stage1.paramCount + this.g.count() + this.d.count();
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

  /** One-hot label maps [n, r, r, 7] of a training batch [n, r, r, 6]: tumour classes override tissue. */
  labelMaps(real: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const mask = tf.slice(real, [0, 0, 0, 4], [-1, -1, -1, 1]);
      const tumour = tf.argMin(tf.abs(tf.sub(mask, tf.tensor1d(MASK_LEVELS))), 3);
      const tissueValue = tf.slice(real, [0, 0, 0, 5], [-1, -1, -1, 1]);
      const tissue = tf.argMin(tf.abs(tf.sub(tissueValue, tf.tensor1d([0, 1, 2, 3].map(tissueLevel)))), 3);
      const shifted = tf.add(tumour, tf.scalar(TISSUE_CLASSES - 1, "int32"));
      return oneHotFloat(tf.where(tf.greater(tumour, 0), shifted, tissue) as tf.Tensor3D);
    });
  }

  /** Stage 2 alone: 4 sequences [n, r, r, 4] for one-hot label maps and SPADE latents. */
  translate(seg: tf.Tensor4D, z: tf.Tensor2D): tf.Tensor4D {
    return spadeGenerator(new Scope(this.g, false), this.config, seg, z);
  }

  private checkLatents(z: tf.Tensor2D): void {
    if (z.shape[1] !== this.config.latentSize)
      throw new InvalidInput(`two-stage latents have ${z.shape[1]} values, the model needs ${this.config.latentSize}`);
  }

  /**
   * Stage 1's label maps of the latents: class per pixel [n, r, r] (int32, 0..6, see LABEL_CLASSES), what
   * `generate` turns into images. Sampling screens them with seed 001's outlier filter (label-filter.ts).
   */
  generatedLabelMaps(z: tf.Tensor2D): tf.Tensor3D {
    this.checkLatents(z);
    const l1 = this.config.stage1.latentSize;
    return tf.tidy(
      () => tf.argMax(this.stage1.generate(tf.slice(z, [0, 0], [-1, l1]) as tf.Tensor2D), 3) as tf.Tensor3D,
    );
  }

  generate(z: tf.Tensor2D): tf.Tensor4D {
    const l1 = this.config.stage1.latentSize;
    return tf.tidy(() => {
      const cls = this.generatedLabelMaps(z);
      const seg = oneHotFloat(cls);
      const seq = this.translate(seg, tf.slice(z, [0, l1], [-1, -1]) as tf.Tensor2D);
      // Mask level per class: tissue classes -> background level, NCR/ED/ET -> their levels.
      const levels = tf.tensor1d([...Array(TISSUE_CLASSES).fill(MASK_LEVELS[0]), ...MASK_LEVELS.slice(1)]);
      return tf.concat([seq, tf.expandDims(tf.gather(levels, cls), 3)], 3) as tf.Tensor4D;
    });
  }

  private discriminate(seg: tf.Tensor4D, img: tf.Tensor4D): tf.Tensor4D[][] {
    return multiscaleD(new Scope(this.d, false), this.config, seg, img);
  }

  private checkBatch(real: tf.Tensor4D): void {
    const r = this.config.resolution;
    const [, h, w, ch] = real.shape;
    if (h !== r || w !== r || ch !== 6)
      throw new InvalidInput(`real batch is ${h}x${w}x${ch}; the two-stage model needs ${r}x${r}x6`);
  }

  /** Stage 1's input: the label maps scaled to [-1, 1]. */
  private stage1Batch(real: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.sub(tf.mul(this.labelMaps(real), 2), 1) as tf.Tensor4D);
  }

  /** Stage 2: D (hinge) on real vs translated, then G (hinge + feature matching); the loss scalars unread. */
  private stage2(real: tf.Tensor4D): { d: tf.Scalar; g: tf.Scalar; fm: tf.Scalar } {
    const c = this.config;
    const n = real.shape[0];
    const seg = this.labelMaps(real);
    const seq = tf.slice(real, [0, 0, 0, 0], [-1, -1, -1, 4]) as tf.Tensor4D;
    const scores = (f: tf.Tensor4D[]) => f[f.length - 1];
    const z = normalLatents(this.rng, n, c.zDim);
    const fake = tf.tidy(() => this.translate(seg, z));
    const dStep = this.d.valueAndGrads(() => {
      const rl = this.discriminate(seg, seq);
      const fk = this.discriminate(seg, fake);
      let loss: tf.Tensor = tf.scalar(0);
      for (let k = 0; k < c.numD; k++) {
        loss = tf.add(loss, tf.mean(tf.relu(tf.sub(1, scores(rl[k])))));
        loss = tf.add(loss, tf.mean(tf.relu(tf.add(1, scores(fk[k])))));
      }
      return loss as tf.Scalar;
    });
    this.dOpt.apply(this.d, dStep.grads);
    tf.dispose([z, fake]);
    const z2 = normalLatents(this.rng, n, c.zDim);
    let fm: tf.Scalar | null = null;
    const gStep = this.g.valueAndGrads(() => {
      const fk = this.discriminate(seg, this.translate(seg, z2));
      const rl = this.discriminate(seg, seq);
      let adv: tf.Tensor = tf.scalar(0);
      let match: tf.Tensor = tf.scalar(0);
      for (let k = 0; k < c.numD; k++) {
        adv = tf.sub(adv, tf.mean(scores(fk[k])));
        for (let i = 0; i < fk[k].length - 1; i++) match = tf.add(match, tf.mean(tf.abs(tf.sub(fk[k][i], rl[k][i]))));
      }
      match = tf.mul(match, c.fmWeight / c.numD);
      fm = tf.keep(match.clone()) as tf.Scalar;
      return tf.add(adv, match) as tf.Scalar;
    });
    this.gOpt.apply(this.g, gStep.grads);
    tf.dispose([z2, seg, seq]);
    this.stepCount += 1;
    return { d: dStep.value, g: gStep.value, fm: fm as unknown as tf.Scalar };
  }

  private static losses(s1: FamilyLosses, d: number, g: number, fm: number): FamilyLosses {
    const out: FamilyLosses = { d, g, fm, stage1_d: s1.d, stage1_g: s1.g };
    if (s1.gp !== undefined) out.stage1_gp = s1.gp;
    return out;
  }

  trainStep(real: tf.Tensor4D): FamilyLosses {
    this.checkBatch(real);
    const maps = this.stage1Batch(real);
    const s1 = (() => {
      try {
        return this.stage1.trainStep(maps);
      } finally {
        maps.dispose();
      }
    })();
    const t = this.stage2(real);
    try {
      return SpadeTwoStageModel.losses({ ...s1 }, t.d.dataSync()[0], t.g.dataSync()[0], t.fm.dataSync()[0]);
    } finally {
      tf.dispose([t.d, t.g, t.fm]);
    }
  }

  async trainStepAsync(real: tf.Tensor4D): Promise<FamilyLosses> {
    this.checkBatch(real);
    const maps = this.stage1Batch(real);
    let s1: FamilyLosses;
    try {
      s1 = { ...(await this.stage1.trainStepAsync(maps)) };
    } finally {
      maps.dispose();
    }
    const t = this.stage2(real);
    try {
      const [d, g, fm] = await Promise.all([t.d.data(), t.g.data(), t.fm.data()]);
      return SpadeTwoStageModel.losses(s1, d[0], g[0], fm[0]);
    } finally {
      tf.dispose([t.d, t.g, t.fm]);
    }
  }

  state(): FamilyState<SpadeConfig> {
    return {
      format: "synthmri-family-state",
      version: 1,
      family: "spade2stage",
      config: this.config,
      seed: this.seed,
      rng: this.rng.getState(),
      steps: this.stepCount,
      weights: { spadeGenerator: storeArrays(this.g), spadeDiscriminator: storeArrays(this.d) },
      optimizers: { spadeGenerator: optimizerArrays(this.gOpt), spadeDiscriminator: optimizerArrays(this.dOpt) },
      scalars: {},
      parts: { stage1: this.stage1.state() },
    };
  }

  async stateAsync(): Promise<FamilyState<SpadeConfig>> {
    await readable();
    return this.state();
  }

  loadState(s: FamilyState<SpadeConfig>): void {
    checkState(s, "spade2stage", this.config);
    const stage1 = s.parts?.stage1 as GanState | undefined;
    if (!stage1) throw new InvalidInput("two-stage state lacks its stage-1 PGAN");
    this.stage1.loadState(stage1);
    loadStoreArrays(this.g, s.weights.spadeGenerator, "SPADE generator");
    loadStoreArrays(this.d, s.weights.spadeDiscriminator, "SPADE discriminator");
    loadOptimizerArrays(this.gOpt, s.optimizers.spadeGenerator, "SPADE generator");
    loadOptimizerArrays(this.dOpt, s.optimizers.spadeDiscriminator, "SPADE discriminator");
    this.rng = Rng.fromState(s.rng);
    this.stepCount = s.steps;
  }

  dispose(): void {
    this.stage1.dispose();
    this.g.dispose();
    this.d.dispose();
    this.gOpt.dispose();
    this.dOpt.dispose();
  }
}
