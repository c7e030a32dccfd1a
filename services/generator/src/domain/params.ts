// Training request -> the ml package's GanConfig + ProgressiveSchedule (PGAN-style families) or a generator-family
// config (spade2stage, stylegan2, ddpm), validated here so a bad request fails the RPC with INVALID_ARGUMENT before
// any job starts. Zero values mean the PGAN paper's defaults (seed 000/001), or the family's demo defaults.
import {
  defaultGanConfig,
  FAMILY_NAMES,
  type FamilyConfigBase,
  type FamilyName,
  type GanConfig,
  type GanFamily,
  type MaskEncoding,
  type ProgressiveSchedule,
} from "@synthmri/ml";
import { InvalidInput } from "@synthmri/platform";
import { familyConfig } from "./family-config.js";

/** Every generator family the service trains: the GanModel ones and the generator families of issues 21/22. */
export type GeneratorFamily = GanFamily | FamilyName;

export function isFamilyModel(f: GeneratorFamily): f is FamilyName {
  return (FAMILY_NAMES as readonly string[]).includes(f);
}

/** The request's hyper-parameters, JSON-safe (persisted with the job so a restarted process resumes them). */
export interface TrainSettings {
  family: GeneratorFamily;
  /** Final side, power of two in MIN_RESOLUTION..MAX_RESOLUTION. */
  resolution: number;
  startResolution?: number;
  latentDim?: number;
  kimgPerPhase?: number;
  /** 0 = until the final resolution's stabilise phase ends. */
  totalKimg?: number;
  batchSize?: number;
  /** resolution -> minibatch size */
  batchSizeByResolution?: Record<string, number>;
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  gpWeight?: number;
  driftEpsilon?: number;
  fmapMax?: number;
  fmapMin?: number;
  checkpointEveryKimg?: number;
  /** SWD between checkpoints too (0 = at checkpoints only). */
  qualityEveryKimg?: number;
  maxTrainSlices?: number;
  /** Train only on these train-split subjects (de-identified keys); empty/absent = all. */
  trainSubjectKeys?: string[];
  /** Generator moving-average decay for sampling (PGAN's Gs: 0.999); absent/0 = none. */
  generatorEmaDecay?: number;
  /** How the networks see the tumour mask (packages/ml gan/mask-encoding.ts); absent = "level". */
  maskEncoding?: MaskEncoding;
}

export const MIN_RESOLUTION = 8;
export const MAX_RESOLUTION = 256;
/** PGAN paper: 600k images per fade-in and per stabilise phase. */
export const DEFAULT_KIMG_PER_PHASE = 600;
export const DEFAULT_BATCH = 16;
export const MAX_TOTAL_KIMG = 100_000;
export const MAX_ENSEMBLE_MEMBERS = 256;

interface ResolvedCommon {
  checkpointEveryKimg: number;
  qualityEveryKimg: number;
  maxTrainSlices: number;
  totalImages: number;
  /** Side of the training slices. */
  resolution: number;
  trainSubjectKeys: string[];
}

export type ResolvedTraining = ResolvedCommon &
  (
    | { kind: "gan"; config: GanConfig; schedule: ProgressiveSchedule }
    | { kind: "family"; config: FamilyConfigBase; batchSize: number }
  );

function positive(name: string, v: number | undefined, max = Number.POSITIVE_INFINITY): number | undefined {
  if (v === undefined || v === 0) return undefined;
  if (!Number.isFinite(v) || v < 0 || v > max) throw new InvalidInput(`${name} must be in (0, ${max}], got ${v}`);
  return v;
}

function integer(name: string, v: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined || v === 0) return undefined;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new InvalidInput(`${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

export function resolveTraining(s: TrainSettings): ResolvedTraining {
  const res = s.resolution;
  if (!Number.isInteger(res) || res < MIN_RESOLUTION || res > MAX_RESOLUTION || (res & (res - 1)) !== 0) {
    throw new InvalidInput(
      `resolution ${res} must be a power of two from ${MIN_RESOLUTION} to ${MAX_RESOLUTION} (seed 000 trains at 256)`,
    );
  }
  if (s.startResolution && s.startResolution !== 4) {
    throw new InvalidInput(`start_resolution ${s.startResolution} is not supported: progressive growing starts at 4x4`);
  }
  if (isFamilyModel(s.family)) return resolveFamily(s, s.family);
  const log2 = Math.log2(res);
  const latentSize = integer("latent_dim", s.latentDim, 1, 4096);
  const fmapMax = integer("fmap_max", s.fmapMax, 1, 4096);
  const fmapMin = integer("fmap_min", s.fmapMin, 1, 4096);
  const lr = positive("learning_rate", s.learningRate, 1);
  for (const [k, v] of [
    ["beta1", s.beta1],
    ["beta2", s.beta2],
  ] as const) {
    if (v !== undefined && !(v >= 0 && v < 1)) throw new InvalidInput(`${k} must be in [0, 1), got ${v}`);
  }
  const base = defaultGanConfig({ family: s.family });
  // fmap_min: feature maps of the final block; PGAN doubles them per halving of the side up to fmap_max,
  // which is featureMaps() = min(fmapBase / 2^(r-1), fmapMax) with fmapBase = fmapMin * 2^(log2(res)-1).
  const fmapBase = fmapMin ? fmapMin * 2 ** (log2 - 1) : base.fmapBase;
  const config = defaultGanConfig({
    family: s.family,
    resolution: res,
    latentSize: latentSize ?? base.latentSize,
    fmapBase,
    fmapMax: fmapMax ?? base.fmapMax,
    adam: {
      learningRate: lr ?? base.adam.learningRate,
      beta1: s.beta1 || base.adam.beta1,
      beta2: s.beta2 || base.adam.beta2,
      epsilon: base.adam.epsilon,
    },
    gpLambda: positive("gp_weight", s.gpWeight) ?? base.gpLambda,
    driftEpsilon: positive("drift_epsilon", s.driftEpsilon) ?? base.driftEpsilon,
    // Only when set, so that configs (and the checkpoints that record them) without it stay as they were.
    ...(s.generatorEmaDecay ? { generatorEmaDecay: emaDecay(s.generatorEmaDecay) } : {}),
    ...nonDefaultMaskEncoding(s.maskEncoding),
  });
  const phaseImages = Math.round(
    (positive("kimg_per_phase", s.kimgPerPhase, MAX_TOTAL_KIMG) ?? DEFAULT_KIMG_PER_PHASE) * 1000,
  );
  if (phaseImages < 1) throw new InvalidInput(`kimg_per_phase ${s.kimgPerPhase} is below one image`);
  const maxLevel = log2 - 2;
  const progressive = s.family === "pgan";
  const fullRun = progressive ? (1 + 2 * maxLevel) * phaseImages : phaseImages;
  const totalKimg = positive("total_kimg", s.totalKimg, MAX_TOTAL_KIMG);
  const totalImages = totalKimg ? Math.round(totalKimg * 1000) : fullRun;
  if (totalImages < 1) throw new InvalidInput(`total_kimg ${s.totalKimg} is below one image`);
  const batch = integer("batch_size", s.batchSize, 1, 4096) ?? DEFAULT_BATCH;
  const byRes = new Map<number, number>();
  for (const [k, v] of Object.entries(s.batchSizeByResolution ?? {})) {
    const r = Number(k);
    if (!Number.isInteger(r) || r < 4 || r > res || (r & (r - 1)) !== 0)
      throw new InvalidInput(`batch_size_by_resolution key ${k} is not a resolution from 4 to ${res}`);
    byRes.set(r, integer(`batch_size_by_resolution[${k}]`, v, 1, 4096) ?? batch);
  }
  const batchSizes = progressive
    ? Array.from({ length: maxLevel + 1 }, (_, l) => byRes.get(4 * 2 ** l) ?? batch)
    : [byRes.get(res) ?? batch];
  const ckpt =
    positive("checkpoint_every_kimg", s.checkpointEveryKimg, MAX_TOTAL_KIMG) ?? Math.max(totalImages / 10_000, 0.001);
  return {
    kind: "gan",
    config,
    schedule: { fadeImages: phaseImages, stabiliseImages: phaseImages, totalImages, batchSizes },
    totalImages,
    resolution: res,
    checkpointEveryKimg: ckpt,
    qualityEveryKimg: positive("quality_every_kimg", s.qualityEveryKimg, MAX_TOTAL_KIMG) ?? 0,
    maxTrainSlices: integer("max_train_slices", s.maxTrainSlices, 1, 10_000_000) ?? 0,
    trainSubjectKeys: [...(s.trainSubjectKeys ?? [])],
  };
}

/** Fixed-resolution families: total_kimg is required-or-kimg_per_phase, one batch size, no growth. */
function resolveFamily(s: TrainSettings, family: FamilyName): ResolvedTraining {
  const totalKimg =
    positive("total_kimg", s.totalKimg, MAX_TOTAL_KIMG) ??
    positive("kimg_per_phase", s.kimgPerPhase, MAX_TOTAL_KIMG) ??
    DEFAULT_KIMG_PER_PHASE;
  const totalImages = Math.round(totalKimg * 1000);
  if (totalImages < 1) throw new InvalidInput(`total_kimg ${s.totalKimg} is below one image`);
  const config = familyConfig(family, {
    resolution: s.resolution,
    latentDim: integer("latent_dim", s.latentDim, 1, 4096),
    fmapMax: integer("fmap_max", s.fmapMax, 1, 4096),
    learningRate: positive("learning_rate", s.learningRate, 1),
    maskEncoding: s.maskEncoding,
  });
  return {
    kind: "family",
    config,
    batchSize: integer("batch_size", s.batchSize, 1, 4096) ?? DEFAULT_BATCH,
    totalImages,
    resolution: s.resolution,
    checkpointEveryKimg:
      positive("checkpoint_every_kimg", s.checkpointEveryKimg, MAX_TOTAL_KIMG) ?? Math.max(totalImages / 10_000, 0.001),
    qualityEveryKimg: positive("quality_every_kimg", s.qualityEveryKimg, MAX_TOTAL_KIMG) ?? 0,
    maxTrainSlices: integer("max_train_slices", s.maxTrainSlices, 1, 10_000_000) ?? 0,
    trainSubjectKeys: [...(s.trainSubjectKeys ?? [])],
  };
}

/**
 * The config field only when not "level": "level" is the default, and configs (and the checkpoints that record
 * them) without the field stay byte-identical, so runs from before it resume.
 */
export function nonDefaultMaskEncoding(e: MaskEncoding | undefined): { maskEncoding?: MaskEncoding } {
  return e && e !== "level" ? { maskEncoding: e } : {};
}

function emaDecay(v: number): number {
  if (!(v > 0 && v < 1)) throw new InvalidInput(`generator_ema_decay must be in (0, 1) (PGAN: 0.999), got ${v}`);
  return v;
}

export function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InvalidInput(`seed ${seed} must be a uint32`);
  return seed;
}
