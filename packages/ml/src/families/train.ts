// The training loop of the fixed-resolution families, the same shape as gan/train.ts `trainGan` (which the
// generator service drives): batch indices from a checkpointed trainer Rng, progress reports, prompt
// cancellation, checkpoints in gan/checkpoint.ts's byte format (the model part is a FamilyState, told apart
// from a GanState by its `format`), and exact resume from the latest checkpoint.
import { Cancelled, FailedPrecondition, InvalidInput, throwIfAborted } from "@synthmri/core";
import { type CheckpointStore, decodeCheckpoint, encodeCheckpoint, type GanCheckpoint } from "../gan/checkpoint.js";
import { canonical } from "../gan/model.js";
import type { SliceSource } from "../gan/slice-source.js";
import { tf } from "../backend/tf.js";
import { Rng, type RngState } from "../random/index.js";
import { createFamilyModel, familyFromState } from "./create.js";
import type { FamilyConfigBase, FamilyLosses, FamilyModel, FamilyState } from "./model.js";

export interface FamilyCheckpoint {
  model: FamilyState;
  trainer: { images: number; rng: { s: RngState; spare: number | null }; seconds: number };
}

/** Same container as a GAN checkpoint (one codec for every family); decode checks the model's format. */
export function encodeFamilyCheckpoint(c: FamilyCheckpoint): Uint8Array {
  return encodeCheckpoint(c as unknown as GanCheckpoint);
}

export function decodeFamilyCheckpoint(bytes: Uint8Array): FamilyCheckpoint {
  const c = decodeCheckpoint(bytes) as unknown as FamilyCheckpoint;
  if ((c.model as { format?: string }).format !== "synthmri-family-state")
    throw new InvalidInput("checkpoint holds no generator-family state (is it a PGAN checkpoint?)");
  return c;
}

export interface FamilyProgress {
  images: number;
  kimg: number;
  totalKimg: number;
  steps: number;
  losses: FamilyLosses;
  imagesPerSecond: number;
  etaSeconds: number;
  checkpointKimg?: number;
}

export interface TrainFamilyOptions {
  config: FamilyConfigBase;
  data: SliceSource;
  seed: number;
  totalImages: number;
  batchSize: number;
  checkpointEveryKimg: number;
  checkpoint?: CheckpointStore;
  signal?: AbortSignal;
  onProgress?: (p: FamilyProgress) => void;
  /** Stop after this many steps in this process (tests: simulate a kill between checkpoints). */
  maxStepsThisRun?: number;
}

export interface TrainFamilyResult {
  model: FamilyModel;
  images: number;
  resumedFromKimg: number | null;
  /** Losses of every step run in this process. */
  history: FamilyLosses[];
}

export async function trainFamily(o: TrainFamilyOptions): Promise<TrainFamilyResult> {
  const c = o.config;
  const channels = c.trainChannels ?? c.channels;
  if (o.data.size !== c.resolution || o.data.channels !== channels) {
    throw new InvalidInput(
      `training slices are ${o.data.size}x${o.data.size}x${o.data.channels}; the ${c.family} model is configured for ` +
        `${c.resolution}x${c.resolution}x${channels}`,
    );
  }
  if (o.data.count < 1)
    throw new FailedPrecondition("the training data has no slices; ingest a dataset with slices first");
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
    throw new InvalidInput(`batch size must be a positive integer`);
  if (!(o.totalImages > 0) || !(o.checkpointEveryKimg > 0))
    throw new InvalidInput("totalImages and checkpointEveryKimg must be > 0");
  throwIfAborted(o.signal);

  let model: FamilyModel;
  let rng: Rng;
  let images = 0;
  let resumedFromKimg: number | null = null;
  let priorSeconds = 0;
  const saved = o.checkpoint ? await o.checkpoint.load() : undefined;
  if (saved) {
    const ckpt = decodeFamilyCheckpoint(saved);
    if (ckpt.model.seed !== o.seed || canonical(ckpt.model.config) !== canonical(c)) {
      throw new FailedPrecondition(
        "the stored checkpoint belongs to a run with another seed or config; start a new run id or pass the original settings",
      );
    }
    model = familyFromState(ckpt.model);
    rng = Rng.fromState(ckpt.trainer.rng);
    images = ckpt.trainer.images;
    resumedFromKimg = images / 1000;
    priorSeconds = ckpt.trainer.seconds;
  } else {
    model = createFamilyModel(c, o.seed);
    rng = new Rng((o.seed ^ 0x6a09e667) >>> 0);
  }
  const startImages = images;
  const started = performance.now();
  const ckptEvery = o.checkpointEveryKimg * 1000;
  const history: FamilyLosses[] = [];
  const save = async () => {
    if (!o.checkpoint) return;
    const ckpt: FamilyCheckpoint = {
      model: await model.stateAsync(),
      trainer: { images, rng: rng.getState(), seconds: priorSeconds + (performance.now() - started) / 1000 },
    };
    await o.checkpoint.save(encodeFamilyCheckpoint(ckpt));
  };
  try {
    while (images < o.totalImages && !(o.maxStepsThisRun !== undefined && history.length >= o.maxStepsThisRun)) {
      await new Promise((r) => setImmediate(r));
      if (o.signal?.aborted)
        throw new Cancelled(`${c.family} training cancelled at ${(images / 1000).toFixed(3)} kimg`);
      const indices = Array.from({ length: o.batchSize }, () => rng.int(o.data.count));
      const raw = await o.data.read(indices);
      const real = tf.tensor4d(raw, [o.batchSize, c.resolution, c.resolution, channels]);
      let losses: FamilyLosses;
      try {
        losses = await model.trainStepAsync(real);
      } finally {
        real.dispose();
      }
      history.push(losses);
      const before = images;
      images += o.batchSize;
      let checkpointKimg: number | undefined;
      if (Math.floor(images / ckptEvery) > Math.floor(before / ckptEvery) || images >= o.totalImages) {
        await save();
        checkpointKimg = images / 1000;
      }
      if (o.onProgress) {
        const secs = (performance.now() - started) / 1000;
        const rate = secs > 0 ? (images - startImages) / secs : 0;
        o.onProgress({
          images,
          kimg: images / 1000,
          totalKimg: o.totalImages / 1000,
          steps: model.steps,
          losses,
          imagesPerSecond: rate,
          etaSeconds: rate > 0 ? Math.max(0, o.totalImages - images) / rate : Number.POSITIVE_INFINITY,
          checkpointKimg,
        });
      }
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, images, resumedFromKimg, history };
}
