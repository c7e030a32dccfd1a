// Sampling: seeded latents -> 5-channel images; the mask channel snapped to the nearest label value and mapped
// back to the internal label scheme; ensembles split the count equally across members (seed 000: 5 GANs x
// 20,000 = 100,000); every sample carries its provenance so it can be regenerated exactly.
import { InvalidInput } from "@synthmri/core";
import { Rng } from "../random/index.js";
import {
  decodeMaskChannels,
  type MaskEncoding,
  maskEncodingOf,
  networkChannels,
  quantizeMask,
} from "./mask-encoding.js";
import { tf } from "./tf.js";

export const MAX_SAMPLES = 10_000_000;

export interface SampleProvenance {
  ensembleId?: string;
  member: number;
  /** Training progress of the checkpoint that made the sample. */
  kimg: number;
  /** Seed of the latent stream; with `index`, regenerates the sample: Rng(seed), skip index latents. */
  seed: number;
  index: number;
}

export interface SampleBatch {
  count: number;
  size: number;
  channels: number;
  /** [count, size, size, channels] in [-1, 1]; the last channel holds the quantized mask levels. */
  images: Float32Array;
  /** [count, size, size] internal labels 0..3 from the mask channel. */
  labels: Uint8Array;
  provenance: SampleProvenance[];
  /** [count, size, size] classes of the label maps the images were made from (two-stage models only). */
  labelMaps?: Uint8Array;
}

/**
 * What sampling needs of a model: every GanModel has it, and so has every generator-family model (families/):
 * latents of `latentSize` N(0,1) draws in, images [n, r, r, networkChannels(config)] out: the mask in the last
 * channel ("level") or as the last 3 channels ("onehot", "regions": decoded here to the product's level channel).
 */
export interface SampleableModel {
  /** `channels`: the product's (mask as one level channel); `maskEncoding` says what `generate` emits. */
  readonly config: { readonly latentSize: number; readonly channels: number; readonly maskEncoding?: MaskEncoding };
  readonly currentResolution: number;
  generate(z: tf.Tensor2D): tf.Tensor4D;
  /** Models that make images from generated label maps (two-stage): those maps' classes [n, r, r] (int32). */
  generatedLabelMaps?(z: tf.Tensor2D): tf.Tensor3D;
}

export interface SampleOptions {
  batchSize?: number;
  member?: number;
  ensembleId?: string;
  kimg?: number;
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 0 || count > MAX_SAMPLES) {
    throw new InvalidInput(`sample count must be an integer in 0..${MAX_SAMPLES}, got ${count}`);
  }
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new InvalidInput(`sample batch size must be a positive integer, got ${batchSize}`);
}

/**
 * Generated images of one batch, unread: latents i.. of `rng` through the model, clipped to [-1, 1]; with the
 * label maps they were made from when the model has them.
 */
function generateBatch(model: SampleableModel, rng: Rng, n: number): { images: tf.Tensor; labelMaps?: tf.Tensor } {
  const z = tf.tensor2d(rng.fillNormal(new Float32Array(n * model.config.latentSize)), [n, model.config.latentSize]);
  try {
    const images = tf.tidy(() => model.generate(z).clipByValue(-1, 1));
    return model.generatedLabelMaps ? { images, labelMaps: model.generatedLabelMaps(z) } : { images };
  } finally {
    z.dispose();
  }
}

const mapsOf = (values: ArrayLike<number> | undefined) => (values ? { labelMaps: Uint8Array.from(values) } : {});

/** Host values of a generated batch -> a SampleBatch in the product's layout, the mask quantized / decoded. */
function finishBatch(
  model: SampleableModel,
  raw: Float32Array,
  n: number,
  start: number,
  seed: number,
  opts: SampleOptions,
): SampleBatch {
  const size = model.currentResolution;
  const ch = model.config.channels;
  const { images: out, labels } = toProductLayout(raw, model.config);
  return {
    count: n,
    size,
    channels: ch,
    images: out,
    labels,
    provenance: Array.from({ length: n }, (_, k) => ({
      ...(opts.ensembleId ? { ensembleId: opts.ensembleId } : {}),
      member: opts.member ?? 0,
      kimg: opts.kimg ?? 0,
      seed,
      index: start + k,
    })),
  };
}

/**
 * Generated pixels (the network's layout of `config`) -> the product's channels with the mask on the level scale,
 * and the labels (in place under "level").
 */
export function toProductLayout(
  raw: Float32Array,
  config: SampleableModel["config"],
): { images: Float32Array; labels: Uint8Array } {
  const encoding = maskEncodingOf(config);
  if (encoding !== "level") return decodeMaskChannels(raw, networkChannels(config), encoding);
  const ch = config.channels;
  const mask = new Float32Array(raw.length / ch);
  for (let p = 0; p < mask.length; p++) mask[p] = raw[p * ch + ch - 1];
  const { levels, labels } = quantizeMask(mask);
  for (let p = 0; p < mask.length; p++) raw[p * ch + ch - 1] = levels[p];
  return { images: raw, labels };
}

/**
 * Streams `count` samples from one model at its current resolution in batches (for gRPC streaming).
 * Latent i is the i-th draw of Rng(seed), so the result does not depend on the batch size.
 * Synchronous reads: cpu/wasm only; `sampleBatchesAsync` works on every backend.
 */
export function* sampleBatches(
  model: SampleableModel,
  count: number,
  seed: number,
  opts: SampleOptions = {},
): Generator<SampleBatch> {
  checkCount(count);
  const batchSize = opts.batchSize ?? 16;
  checkBatchSize(batchSize);
  const rng = new Rng(seed);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const t = generateBatch(model, rng, n);
    const out = new Float32Array(t.images.dataSync());
    const maps = t.labelMaps?.dataSync();
    tf.dispose([t.images, t.labelMaps ?? []]);
    yield { ...finishBatch(model, out, n, start, seed, opts), ...mapsOf(maps) };
  }
}

/** `sampleBatches` with awaited reads: the same samples, on every backend (webgpu included). */
export async function* sampleBatchesAsync(
  model: SampleableModel,
  count: number,
  seed: number,
  opts: SampleOptions = {},
): AsyncGenerator<SampleBatch> {
  checkCount(count);
  const batchSize = opts.batchSize ?? 16;
  checkBatchSize(batchSize);
  const rng = new Rng(seed);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const t = generateBatch(model, rng, n);
    let out: Float32Array;
    let maps: ArrayLike<number> | undefined;
    try {
      out = new Float32Array((await t.images.data()) as Float32Array);
      maps = await t.labelMaps?.data();
    } finally {
      tf.dispose([t.images, t.labelMaps ?? []]);
    }
    yield { ...finishBatch(model, out, n, start, seed, opts), ...mapsOf(maps) };
  }
}

/** `count` samples from one model, concatenated, read asynchronously (every backend). */
export async function sampleAsync(
  model: SampleableModel,
  count: number,
  seed: number,
  opts: SampleOptions = {},
): Promise<SampleBatch> {
  const batches: SampleBatch[] = [];
  for await (const b of sampleBatchesAsync(model, count, seed, opts)) batches.push(b);
  return concatBatches(batches, model.currentResolution, model.config.channels);
}

/** `count` samples from one model, concatenated. */
export function sample(model: SampleableModel, count: number, seed: number, opts: SampleOptions = {}): SampleBatch {
  return concatBatches([...sampleBatches(model, count, seed, opts)], model.currentResolution, model.config.channels);
}

export interface EnsembleMember {
  model: SampleableModel;
  member: number;
  kimg: number;
}

/** Samples per member: count split equally, the remainder going one each to the first members. */
export function splitCount(count: number, members: number): number[] {
  checkCount(count);
  if (!Number.isInteger(members) || members < 1)
    throw new InvalidInput(`an ensemble needs at least one member, got ${members}`);
  return Array.from({ length: members }, (_, m) => Math.floor(count / members) + (m < count % members ? 1 : 0));
}

/** Per-member latent seed derived from the request seed (distinct streams, reproducible). */
export function memberSeed(seed: number, member: number): number {
  return (Math.imul((seed >>> 0) ^ 0x85ebca6b, 0x9e3779b1) + Math.imul(member + 1, 0xc2b2ae35)) >>> 0;
}

/** Streams an ensemble's samples: member after member, `splitCount` each. */
export function* sampleEnsembleBatches(
  members: EnsembleMember[],
  count: number,
  seed: number,
  opts: { batchSize?: number; ensembleId?: string } = {},
): Generator<SampleBatch> {
  const counts = splitCount(count, members.length);
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    yield* sampleBatches(m.model, counts[i], memberSeed(seed, m.member), { ...opts, member: m.member, kimg: m.kimg });
  }
}

export function sampleEnsemble(
  members: EnsembleMember[],
  count: number,
  seed: number,
  opts: { batchSize?: number; ensembleId?: string } = {},
): SampleBatch {
  if (!members.length) throw new InvalidInput("an ensemble needs at least one member");
  const size = members[0].model.currentResolution;
  const ch = members[0].model.config.channels;
  for (const m of members) {
    if (m.model.currentResolution !== size || m.model.config.channels !== ch) {
      throw new InvalidInput(
        `ensemble member ${m.member} makes ${m.model.currentResolution}px images, member 0 makes ${size}px`,
      );
    }
  }
  return concatBatches([...sampleEnsembleBatches(members, count, seed, opts)], size, ch);
}

export function concatBatches(batches: SampleBatch[], size: number, channels: number): SampleBatch {
  const count = batches.reduce((a, b) => a + b.count, 0);
  const images = new Float32Array(count * size * size * channels);
  const labels = new Uint8Array(count * size * size);
  let at = 0;
  for (const b of batches) {
    images.set(b.images, at * size * size * channels);
    labels.set(b.labels, at * size * size);
    at += b.count;
  }
  return { count, size, channels, images, labels, provenance: batches.flatMap((b) => b.provenance) };
}
