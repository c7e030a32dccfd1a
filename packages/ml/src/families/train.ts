// The training loop of the fixed-resolution families on gan/loop.ts's skeleton, shared with gan/train.ts
// `trainGan`: batch indices from a checkpointed trainer Rng, progress reports, prompt cancellation, checkpoints in
// gan/checkpoint.ts's byte format (the model part is a FamilyState, told apart from a GanState by its `format`),
// and exact resume from the latest checkpoint.
import { FailedPrecondition, InvalidInput, throwIfAborted } from "@synthmri/core";
import { type CheckpointStore, decodeCheckpoint, encodeCheckpoint, type GanCheckpoint } from "../gan/checkpoint.js";
import { LoopRun, startOrResume, type TrainerState } from "../gan/loop.js";
import { maskEncodedSource, networkChannels } from "../gan/mask-encoding.js";
import type { SliceSource } from "../gan/slice-source.js";
import { tf } from "../backend/tf.js";
import { createFamilyModel, familyFromState } from "./create.js";
import type { FamilyConfigBase, FamilyLosses, FamilyModel, FamilyState } from "./model.js";

export interface FamilyCheckpoint {
  model: FamilyState;
  trainer: TrainerState;
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

  const start = await startOrResume({
    checkpoint: o.checkpoint,
    seed: o.seed,
    config: c,
    decode: decodeFamilyCheckpoint,
    fromState: familyFromState,
    create: () => createFamilyModel(c, o.seed),
  });
  const { model } = start;
  const run = new LoopRun(start, o.totalImages, o.checkpointEveryKimg, o.checkpoint, (ckpt) =>
    encodeFamilyCheckpoint(ckpt as FamilyCheckpoint),
  );
  // The network's layout (the mask as 3 channels unless "level"); `o.data` stays in the product's.
  const data = channels === c.channels ? maskEncodedSource(o.data, c) : o.data;
  const inputChannels = channels === c.channels ? networkChannels(c) : channels;
  const history: FamilyLosses[] = [];
  try {
    while (!run.done && !(o.maxStepsThisRun !== undefined && history.length >= o.maxStepsThisRun)) {
      await run.beforeStep(o.signal, c.family);
      const raw = await data.read(run.batchIndices(o.batchSize, data.count));
      const real = tf.tensor4d(raw, [o.batchSize, c.resolution, c.resolution, inputChannels]);
      let losses: FamilyLosses;
      try {
        losses = await model.trainStepAsync(real);
      } finally {
        real.dispose();
      }
      history.push(losses);
      const checkpointKimg = await run.afterStep(o.batchSize);
      o.onProgress?.({
        images: run.images,
        kimg: run.images / 1000,
        totalKimg: o.totalImages / 1000,
        steps: model.steps,
        losses,
        ...run.rate(),
        checkpointKimg,
      });
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, images: run.images, resumedFromKimg: start.resumedFromKimg, history };
}
