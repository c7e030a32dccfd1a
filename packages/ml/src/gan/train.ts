// The GAN training loop: progressive schedule, progress reports, prompt cancellation, full-state checkpoints
// and exact resume. Everything random comes from two Rngs whose states are checkpointed (the model's: latents
// and GP mixing; the trainer's: batch indices), and level/alpha are a pure function of the image count, so a
// run restored from a checkpoint repeats the uninterrupted run's arithmetic exactly on the cpu backend.
import { FailedPrecondition, InvalidInput, throwIfAborted } from "@synthmri/core";
import { Rng } from "../random/index.js";
import { type CheckpointStore, decodeCheckpoint, encodeCheckpoint, type GanCheckpoint } from "./checkpoint.js";
import { type GanConfig, validateGanConfig } from "./config.js";
import { createGan, ganFromState } from "./create.js";
import { maskEncodedSource, networkChannels } from "./mask-encoding.js";
import { LoopRun, startOrResume } from "./loop.js";
import type { GanModel, StepLosses } from "./model.js";
import { downsample2x, lerp, upsample2x } from "./ops.js";
import { type Phase, type ProgressiveSchedule, scheduleAt, validateSchedule } from "./schedule.js";
import type { SliceSource } from "./slice-source.js";
import { tf } from "./tf.js";

export interface TrainProgress {
  /** "fixed" for the single-resolution baselines. */
  phase: Phase | "fixed";
  level: number;
  resolution: number;
  alpha: number;
  images: number;
  kimg: number;
  totalKimg: number;
  losses: StepLosses;
  /** Images per second in this process (excludes time before a resume). */
  imagesPerSecond: number;
  etaSeconds: number;
  /** Latest quality figure, when `quality` is given. */
  swd?: number;
  /** Set on the report that follows a checkpoint save. */
  checkpointKimg?: number;
}

/** A distribution distance between generated and real images ([n, r, r, c] in [-1, 1]); e.g. Laplacian SWD. */
export type QualityFn = (fake: tf.Tensor4D, real: tf.Tensor4D) => number | Promise<number>;

export interface TrainGanOptions {
  config: GanConfig;
  data: SliceSource;
  seed: number;
  schedule: ProgressiveSchedule;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  /** Report at most every this many images (default: every step). */
  progressEveryImages?: number;
  checkpointEveryKimg: number;
  checkpoint?: CheckpointStore;
  quality?: { fn: QualityFn; everyKimg: number; samples: number };
}

export interface TrainGanResult {
  model: GanModel;
  images: number;
  kimg: number;
  /** kimg of the checkpoint this run resumed from, or null for a fresh start. */
  resumedFromKimg: number | null;
  quality: { kimg: number; value: number }[];
}

export async function trainGan(o: TrainGanOptions): Promise<TrainGanResult> {
  validateGanConfig(o.config);
  validateSchedule(o.schedule);
  if (o.data.size !== o.config.resolution || o.data.channels !== o.config.channels) {
    throw new InvalidInput(
      `training slices are ${o.data.size}x${o.data.size}x${o.data.channels}; the GAN is configured for ` +
        `${o.config.resolution}x${o.config.resolution}x${o.config.channels}`,
    );
  }
  if (o.data.count < 1)
    throw new FailedPrecondition("the training data has no slices; ingest a dataset with slices first");
  if (!(o.checkpointEveryKimg > 0))
    throw new InvalidInput(`checkpointEveryKimg must be > 0, got ${o.checkpointEveryKimg}`);
  throwIfAborted(o.signal);

  const start = await startOrResume({
    checkpoint: o.checkpoint,
    seed: o.seed,
    config: o.config,
    decode: decodeCheckpoint,
    fromState: ganFromState,
    create: () => createGan(o.config, o.seed),
  });
  const { model } = start;
  // The networks' layout (the mask as 3 channels unless "level"); `o.data` stays in the product's.
  const data = maskEncodedSource(o.data, o.config);
  const run = new LoopRun(start, o.schedule.totalImages, o.checkpointEveryKimg, o.checkpoint, (ckpt) =>
    encodeCheckpoint(ckpt as GanCheckpoint),
  );
  const maxLevel = Math.log2(o.config.resolution) - 2;
  const progressive = o.config.family === "pgan";
  const quality: { kimg: number; value: number }[] = [];
  let lastReported = -Infinity;
  let lastQuality: number | undefined;

  try {
    if (o.quality && run.images === 0) {
      const v = await measureQuality(model, o, data, run.images);
      quality.push({ kimg: 0, value: v });
      lastQuality = v;
    }
    while (!run.done) {
      await run.beforeStep(o.signal, "GAN");
      const before = run.images;
      const point = progressive
        ? scheduleAt(o.schedule, maxLevel, before)
        : { level: maxLevel, alpha: 1, phase: "fixed" as const, batchSize: o.schedule.batchSizes[0] };
      model.setGrowth({ level: point.level, alpha: point.alpha });
      const raw = await data.read(run.batchIndices(point.batchSize, data.count));
      const real = prepareReals(raw, point.batchSize, o.config, point.level, point.alpha);
      const losses = await model.trainStepAsync(real);
      real.dispose();
      const checkpointKimg = await run.afterStep(point.batchSize);
      const images = run.images;
      if (
        o.quality &&
        Math.floor(images / (o.quality.everyKimg * 1000)) > Math.floor(before / (o.quality.everyKimg * 1000))
      ) {
        lastQuality = await measureQuality(model, o, data, images);
        quality.push({ kimg: images / 1000, value: lastQuality });
      }
      if (o.onProgress && (images - lastReported >= (o.progressEveryImages ?? 0) || checkpointKimg !== undefined)) {
        lastReported = images;
        o.onProgress({
          phase: point.phase,
          level: point.level,
          resolution: 4 * 2 ** point.level,
          alpha: point.alpha,
          images,
          kimg: images / 1000,
          totalKimg: o.schedule.totalImages / 1000,
          losses,
          ...run.rate(),
          swd: lastQuality,
          checkpointKimg,
        });
      }
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, images: run.images, kimg: run.images / 1000, resumedFromKimg: start.resumedFromKimg, quality };
}

/**
 * Real batch (the networks' layout) at the current level: box-downsampled from full size, blended like PGAN's
 * process_reals.
 */
export function prepareReals(raw: Float32Array, n: number, c: GanConfig, level: number, alpha: number): tf.Tensor4D {
  return tf.tidy(() => {
    let x = tf.tensor4d(raw, [n, c.resolution, c.resolution, networkChannels(c)]);
    const target = 4 * 2 ** level;
    while (x.shape[1] > target) x = downsample2x(x);
    if (alpha < 1 && level > 0) x = lerp(upsample2x(downsample2x(x)), x, alpha);
    return x;
  });
}

/** Quality at the current level with its own Rng (seeded by the image count), so it never shifts training. */
async function measureQuality(model: GanModel, o: TrainGanOptions, data: SliceSource, images: number): Promise<number> {
  const q = o.quality as NonNullable<TrainGanOptions["quality"]>;
  const evalRng = new Rng((o.seed * 2654435761 + images) >>> 0);
  const n = q.samples;
  const indices = Array.from({ length: n }, () => evalRng.int(data.count));
  const g = model.growth();
  const real = prepareReals(await data.read(indices), n, o.config, g.level, g.alpha);
  const z = tf.tensor2d(evalRng.fillNormal(new Float32Array(n * o.config.latentSize)), [n, o.config.latentSize]);
  const fake = tf.tidy(() => model.generate(z).clipByValue(-1, 1) as tf.Tensor4D);
  try {
    return await q.fn(fake, real);
  } finally {
    tf.dispose([real, z, fake]);
  }
}
