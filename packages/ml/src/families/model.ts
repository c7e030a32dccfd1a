// The contract every generator family of this folder meets (DDPM, StyleGAN2, SPADE two-stage), shaped like the
// PGAN GanModel so that the generator service drives every family the same way: build from (config, seed), train
// one step on a real batch, save/load a full state for exact resume, and generate 5-channel images from latents
// drawn from a seeded stream (gan/sample.ts `sampleBatches` streams them with provenance and quantised masks).
import { InvalidInput } from "@synthmri/core";
import { allVariables, hostReadable } from "../backend/host-read.js";
import { tf } from "../backend/tf.js";
import type { MaskEncoding } from "../gan/mask-encoding.js";
import { canonical } from "../gan/model.js";
import type { Optimizer, OptimizerState } from "../layers/optimizers.js";
import type { ParamStore } from "../layers/param-store.js";
import { decodeBlob, encodeBlob, type NamedArray } from "../layers/tensor-blob.js";
import type { Rng, RngState } from "../random/index.js";

export type FamilyName = "ddpm" | "stylegan2" | "spade2stage";
export const FAMILY_NAMES: readonly FamilyName[] = ["ddpm", "stylegan2", "spade2stage"];

/** The fields every family config has (and that sampling and the trainer read). */
export interface FamilyConfigBase {
  family: FamilyName;
  /** Image side (power of two). */
  resolution: number;
  /** Image channels: 5 = T1, T1Gd, T2, FLAIR, mask (the product's layout). */
  channels: number;
  /**
   * How a family that emits the mask as image channels sees it (gan/mask-encoding.ts; ddpm): absent = "level".
   * StyleGAN2 (segmentation head) and the two-stage family (label maps) have one-hot classes of their own.
   */
  maskEncoding?: MaskEncoding;
  /** Length of one latent vector drawn by `sampleLatents` (DDPM: the whole initial noise image). */
  latentSize: number;
  /** Channels of a training slice when they differ from `channels` (two-stage: + the tissue label channel). */
  trainChannels?: number;
}

/** Named loss terms of one step (DDPM: loss; StyleGAN2: d, g, r1, pl, ...). */
export type FamilyLosses = Record<string, number>;

/** One optimizer's serialisable state with its slots as named arrays (so the checkpoint codec carries them). */
export interface OptimizerArrays {
  kind: OptimizerState["kind"];
  step: number;
  lr: number;
  slots: NamedArray[];
}

export interface FamilyState<C extends FamilyConfigBase = FamilyConfigBase> {
  format: "synthmri-family-state";
  version: 1;
  family: FamilyName;
  config: C;
  seed: number;
  rng: { s: RngState; spare: number | null };
  steps: number;
  /** Weight sets by role (e.g. net, ema; generator, discriminator, generatorEma). */
  weights: Record<string, NamedArray[]>;
  optimizers: Record<string, OptimizerArrays>;
  /** Family-specific scalars that must survive a resume (e.g. StyleGAN2's path-length mean). */
  scalars: Record<string, number>;
  /** Nested model states (two-stage: the stage-1 PGAN's GanState); the checkpoint codec carries their arrays. */
  parts?: Record<string, unknown>;
}

export interface FamilyModel<C extends FamilyConfigBase = FamilyConfigBase> {
  readonly config: C;
  readonly seed: number;
  /** Trainable parameters of every network. */
  readonly paramCount: number;
  /** Image side of `generate` (fixed: no family here grows progressively). */
  readonly currentResolution: number;
  /** Steps trained so far. */
  readonly steps: number;
  /** Latents [n, latentSize] drawn from the model's training Rng. */
  sampleLatents(n: number): tf.Tensor2D;
  /**
   * Latents [n, latentSize] (N(0,1) draws of a seeded stream) -> images [n, r, r, channels], roughly [-1, 1], the
   * last channel a mask on PGAN's level scale (gan/sample.ts quantises it). Deterministic for given latents.
   */
  generate(z: tf.Tensor2D): tf.Tensor4D;
  /** One training step on a real batch [n, r, r, channels] in [-1, 1] (synchronous backends). */
  trainStep(real: tf.Tensor4D): FamilyLosses;
  /** The same step reading the losses asynchronously (every backend). */
  trainStepAsync(real: tf.Tensor4D): Promise<FamilyLosses>;
  state(): FamilyState<C>;
  stateAsync(): Promise<FamilyState<C>>;
  loadState(s: FamilyState<C>): void;
  dispose(): void;
}

export function storeArrays(store: ParamStore): NamedArray[] {
  const { index, data } = store.toBytes();
  return decodeBlob(index, data).map((a) => ({ ...a, data: new Float32Array(a.data) }));
}

export function loadStoreArrays(store: ParamStore, arrays: NamedArray[], what: string): void {
  if (!Array.isArray(arrays)) throw new InvalidInput(`family state lacks the ${what} weights`);
  const { index, data } = encodeBlob(arrays);
  store.fromBytes(index, data);
}

export function optimizerArrays(opt: Optimizer): OptimizerArrays {
  const s = opt.getState();
  return { kind: s.kind, step: s.step, lr: s.lr, slots: decodeBlob(s.index, s.data) };
}

export function loadOptimizerArrays(opt: Optimizer, a: OptimizerArrays | undefined, what: string): void {
  if (!a) throw new InvalidInput(`family state lacks the ${what} optimizer`);
  const { index, data } = encodeBlob(a.slots);
  opt.setState({ kind: a.kind, step: a.step, lr: a.lr, index, data });
}

/** Checks a state's header against the model it is loaded into. */
export function checkState(s: FamilyState, family: FamilyName, config: FamilyConfigBase): void {
  if (s?.format !== "synthmri-family-state" || s.version !== 1)
    throw new InvalidInput("not a synthmri generator-family state (format/version)");
  if (s.family !== family) throw new InvalidInput(`state is of family ${s.family}, the model is ${family}`);
  if (canonical(s.config) !== canonical(config)) {
    throw new InvalidInput("state was written with a different config; build the model from the state's config");
  }
}

/** Downloads every variable first (webgpu: optimizer slots are private) so a synchronous `state()` can follow. */
export async function readable(): Promise<void> {
  await hostReadable(allVariables());
}

/** N(0,1) latents [n, size] from `rng`. */
export function normalLatents(rng: Rng, n: number, size: number): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(n * size)), [n, size]);
}
