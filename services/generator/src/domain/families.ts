// The one place the generator tells its families apart (issues 21, 22). PGAN-style GanModels (pgan, dcgan, lsgan,
// hinge) and the generator families (spade2stage, stylegan2, ddpm) share the checkpoint byte container and the
// sampling contract (`SampleableModel`); what differs is the training loop, the slices they train on (two-stage:
// + a tissue channel) and how a checkpoint's state rebuilds a model. Everything else in the service calls the
// functions below and never branches on the family itself.
import {
  decodeCheckpoint,
  encodeMask,
  networkChannels,
  type FamilyProgress,
  type FamilyState,
  familyFromState,
  samplerFromState,
  type GanState,
  prepareReals,
  type SampleableModel,
  type SliceSource,
  type TrainProgress,
  tf,
  tissueLevel,
  trainFamily,
  twoStageClasses,
  trainGan,
  type CheckpointStore,
} from "@synthmri/ml";
import { FailedPrecondition, type JobProgress, MASK_LEVELS_255 } from "@synthmri/platform";
import { segmentTissue } from "@synthmri/volume";
import type { ResolvedTraining } from "./params.js";
import type { LoadedSlices } from "./ports.js";

export type LoadedGenerator = SampleableModel & { dispose(): void };

const FAMILY_FORMAT = "synthmri-family-state";

function isFamilyState(state: unknown): state is FamilyState {
  return (state as { format?: string }).format === FAMILY_FORMAT;
}

/** What the checkpoint store and sampling read of one decoded checkpoint, whatever its family. */
export interface CheckpointView {
  images: number;
  family: string;
  config: unknown;
  seed: number;
  /** Growth of a progressive GAN (0 / 1 for fixed-resolution families). */
  level: number;
  alpha: number;
  /** Side the generator makes now, and at the end of training. */
  resolution: number;
  finalResolution: number;
  /** A generator ready to sample (caller disposes). */
  model(): LoadedGenerator;
  /**
   * n raw training slices ([-1, 1], the training channels) -> reals comparable with `model()`'s output (the
   * network's layout: mask channels one-hot under maskEncoding "onehot").
   */
  reals(raw: Float32Array, n: number): tf.Tensor4D;
}

export function viewCheckpoint(bytes: Uint8Array): CheckpointView {
  const ckpt = decodeCheckpoint(bytes);
  const state: unknown = ckpt.model;
  const images = ckpt.trainer.images;
  if (isFamilyState(state)) {
    const c = state.config;
    const trainChannels = c.trainChannels ?? c.channels;
    return {
      images,
      family: state.family,
      config: c,
      seed: state.seed,
      level: 0,
      alpha: 1,
      resolution: c.resolution,
      finalResolution: c.resolution,
      model: () => familyFromState(state),
      reals: (raw, n) =>
        tf.tidy(() => {
          if (trainChannels === c.channels)
            return tf.tensor4d(encodeMask(raw, c), [n, c.resolution, c.resolution, networkChannels(c)]);
          const x = tf.tensor4d(raw, [n, c.resolution, c.resolution, trainChannels]);
          return x.slice([0, 0, 0, 0], [n, c.resolution, c.resolution, c.channels]);
        }),
    };
  }
  const gan = state as GanState;
  return {
    images,
    family: gan.config.family,
    config: gan.config,
    seed: gan.seed,
    level: gan.growth.level,
    alpha: gan.growth.alpha,
    resolution: 4 * 2 ** gan.growth.level,
    finalResolution: gan.config.resolution,
    model: () => samplerFromState(gan),
    reals: (raw, n) => prepareReals(encodeMask(raw, gan.config), n, gan.config, gan.growth.level, gan.growth.alpha),
  };
}

/** Channels of the slices a family trains on. */
export function trainingChannels(resolved: ResolvedTraining): number {
  return resolved.kind === "family" ? (resolved.config.trainChannels ?? resolved.config.channels) : 5;
}

/**
 * The tissue label per pixel (0 bg, 1 CSF, 2 GM, 3 WM) when the family trains on one (two-stage), else undefined:
 * a 3-class segmentation of the T1 channel inside the brain (any sequence above background) over the whole stack of
 * training slices, without bias correction (slices of many subjects make no smooth bias field).
 */
export function tissueLabels(resolved: ResolvedTraining, loaded: LoadedSlices): Uint8Array | undefined {
  if (trainingChannels(resolved) === loaded.channels) return undefined;
  return sliceTissue(loaded);
}

function sliceTissue(loaded: LoadedSlices): Uint8Array {
  const px = loaded.count * loaded.size * loaded.size;
  const src = loaded.data;
  const c0 = loaded.channels;
  const t1 = new Float32Array(px);
  const brain = new Uint8Array(px);
  for (let p = 0; p < px; p++) {
    t1[p] = src[p * c0];
    brain[p] = src[p * c0] > 0 || src[p * c0 + 1] > 0 || src[p * c0 + 2] > 0 || src[p * c0 + 3] > 0 ? 1 : 0;
  }
  try {
    return segmentTissue(t1, brain, [loaded.size, loaded.size, loaded.count], { biasDegree: 0 }).labels;
  } catch (e) {
    throw new FailedPrecondition(
      `tissue segmentation of the training slices failed (${(e as Error).message}); the two-stage family needs brain slices`,
    );
  }
}

/**
 * Real slices as the two-stage family's label maps (class per pixel, 0..6: tissue as at training, the tumour
 * label of the mask channel over it): the reference of seed 001's outlier filter on generated label maps.
 */
export function realLabelMaps(loaded: LoadedSlices): Uint8Array {
  const tissue = sliceTissue(loaded);
  const c = loaded.channels;
  const tumour = new Uint8Array(tissue.length);
  for (let p = 0; p < tumour.length; p++) tumour[p] = nearestMaskLabel(loaded.data[p * c + c - 1]);
  return twoStageClasses(tumour, tissue);
}

/** Label of the nearest mask level (a resized mask may hold values between levels). */
function nearestMaskLabel(v: number): number {
  let best = 0;
  for (let k = 1; k < MASK_LEVELS_255.length; k++)
    if (Math.abs(v - MASK_LEVELS_255[k]) < Math.abs(v - MASK_LEVELS_255[best])) best = k;
  return best;
}

/** The tissue channel's value of a label (the scale the two-stage model reads). */
export const tissueValue = tissueLevel;

export interface TrainRun {
  resolved: ResolvedTraining;
  data: SliceSource;
  seed: number;
  checkpoint: CheckpointStore;
  signal: AbortSignal;
  /** SWD x 1e3 between checkpoints (PGAN-style families; the others measure at checkpoints). */
  quality?: { fn: (fake: tf.Tensor4D, real: tf.Tensor4D) => Promise<number>; everyKimg: number; samples: number };
  lastCheckpointSwd(): number | null;
  progress(p: JobProgress): void;
}

/** Trains to the end (resuming from the latest checkpoint); returns where it resumed from. */
export async function runTraining(run: TrainRun): Promise<{ kimg: number; resumedFromKimg: number | null }> {
  const r = run.resolved;
  if (r.kind === "family") {
    const result = await trainFamily({
      config: r.config,
      data: run.data,
      seed: run.seed,
      totalImages: r.totalImages,
      batchSize: r.batchSize,
      checkpointEveryKimg: r.checkpointEveryKimg,
      checkpoint: run.checkpoint,
      signal: run.signal,
      onProgress: (t) => run.progress(familyProgress(t, r.resolution, run.lastCheckpointSwd())),
    });
    result.model.dispose();
    return { kimg: result.images / 1000, resumedFromKimg: result.resumedFromKimg };
  }
  const result = await trainGan({
    config: r.config,
    data: run.data,
    seed: run.seed,
    schedule: r.schedule,
    signal: run.signal,
    checkpointEveryKimg: r.checkpointEveryKimg,
    checkpoint: run.checkpoint,
    progressEveryImages: 0,
    ...(run.quality && r.qualityEveryKimg > 0 ? { quality: run.quality } : {}),
    onProgress: (t: TrainProgress) => run.progress(ganProgress(t, run.lastCheckpointSwd())),
  });
  result.model.dispose();
  return { kimg: result.kimg, resumedFromKimg: result.resumedFromKimg };
}

function familyProgress(t: FamilyProgress, resolution: number, checkpointSwd: number | null): JobProgress {
  const metrics: Record<string, number> = {
    kimg: t.kimg,
    total_kimg: t.totalKimg,
    resolution,
    steps: t.steps,
    images_per_second: t.imagesPerSecond,
  };
  for (const [k, v] of Object.entries(t.losses)) if (Number.isFinite(v)) metrics[`loss_${k}`] = v;
  if (checkpointSwd !== null) metrics.swd = checkpointSwd;
  if (t.checkpointKimg !== undefined) metrics.checkpoint_kimg = t.checkpointKimg;
  return {
    fraction: t.totalKimg > 0 ? t.kimg / t.totalKimg : 0,
    phase: `${resolution}x${resolution}`,
    message: `${t.kimg.toFixed(3)}/${t.totalKimg} kimg at ${resolution}x${resolution}`,
    metrics,
    etaSeconds: Number.isFinite(t.etaSeconds) ? t.etaSeconds : undefined,
  };
}

function ganProgress(t: TrainProgress, checkpointSwd: number | null): JobProgress {
  const swd = t.swd ?? checkpointSwd;
  const metrics: Record<string, number> = {
    kimg: t.kimg,
    total_kimg: t.totalKimg,
    resolution: t.resolution,
    level: t.level,
    alpha: t.alpha,
    loss_d: t.losses.d,
    loss_g: t.losses.g,
    images_per_second: t.imagesPerSecond,
  };
  if (t.losses.gp !== undefined) metrics.loss_gp = t.losses.gp;
  if (swd !== null && swd !== undefined) metrics.swd = swd;
  if (t.checkpointKimg !== undefined) metrics.checkpoint_kimg = t.checkpointKimg;
  return {
    fraction: t.totalKimg > 0 ? t.kimg / t.totalKimg : 0,
    phase: t.phase === "fixed" ? `${t.resolution}x${t.resolution}` : `${t.phase} ${t.resolution}x${t.resolution}`,
    message: `${t.kimg.toFixed(3)}/${t.totalKimg} kimg at ${t.resolution}x${t.resolution}`,
    metrics,
    etaSeconds: Number.isFinite(t.etaSeconds) ? t.etaSeconds : undefined,
  };
}
