// The skeleton every training loop of the generators shares (gan/train.ts `trainGan`, families/train.ts
// `trainFamily`): start fresh or resume from the latest checkpoint (refusing one of another seed or config), batch
// indices from a checkpointed trainer Rng, a yield to the event loop and an abort check before every step, the
// checkpoint cadence (every N kimg and at the end), and the rate / ETA of the progress reports. What differs
// (growth schedule, step, losses, quality) stays in the loops.
import { Cancelled, FailedPrecondition } from "@synthmri/core";
import { Rng, type RngState } from "../random/index.js";
import type { CheckpointStore } from "./checkpoint.js";
import { canonical } from "./model.js";

export interface TrainerState {
  images: number;
  rng: { s: RngState; spare: number | null };
  seconds: number;
}

interface SavedModel {
  seed: number;
  config: unknown;
}

export interface LoopStart<M> {
  model: M;
  /** The trainer's Rng: batch order only (the model has its own). */
  rng: Rng;
  images: number;
  resumedFromKimg: number | null;
  priorSeconds: number;
}

/** A fresh model, or the one of the latest checkpoint with the trainer's Rng and image count. */
export async function startOrResume<M, S extends SavedModel>(o: {
  checkpoint?: CheckpointStore;
  seed: number;
  config: unknown;
  decode: (bytes: Uint8Array) => { model: S; trainer: TrainerState };
  fromState: (state: S) => M;
  create: () => M;
}): Promise<LoopStart<M>> {
  const saved = o.checkpoint ? await o.checkpoint.load() : undefined;
  if (!saved) {
    // Independent stream for batch order, derived from the seed but distinct from the model's.
    return {
      model: o.create(),
      rng: new Rng((o.seed ^ 0x6a09e667) >>> 0),
      images: 0,
      resumedFromKimg: null,
      priorSeconds: 0,
    };
  }
  const ckpt = o.decode(saved);
  if (ckpt.model.seed !== o.seed || canonical(ckpt.model.config) !== canonical(o.config)) {
    throw new FailedPrecondition(
      "the stored checkpoint belongs to a run with another seed or config; start a new run id or pass the original settings",
    );
  }
  return {
    model: o.fromState(ckpt.model),
    rng: Rng.fromState(ckpt.trainer.rng),
    images: ckpt.trainer.images,
    resumedFromKimg: ckpt.trainer.images / 1000,
    priorSeconds: ckpt.trainer.seconds,
  };
}

/** Clock, cadence and state of one process's share of a run. */
export class LoopRun<M extends { stateAsync(): Promise<unknown> }> {
  readonly startImages: number;
  private readonly started = performance.now();
  private readonly checkpointEvery: number;

  constructor(
    readonly start: LoopStart<M>,
    readonly totalImages: number,
    checkpointEveryKimg: number,
    private readonly store: CheckpointStore | undefined,
    private readonly encode: (c: { model: unknown; trainer: TrainerState }) => Uint8Array,
  ) {
    this.startImages = start.images;
    this.checkpointEvery = checkpointEveryKimg * 1000;
  }

  get images(): number {
    return this.start.images;
  }

  get done(): boolean {
    return this.start.images >= this.totalImages;
  }

  /** Yields to the event loop (an abort, e.g. a CancelJob RPC, is seen between steps), then checks the signal. */
  async beforeStep(signal: AbortSignal | undefined, what: string): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (signal?.aborted) throw new Cancelled(`${what} training cancelled at ${(this.images / 1000).toFixed(3)} kimg`);
  }

  /** The next batch's slice indices, from the trainer Rng. */
  batchIndices(batchSize: number, sliceCount: number): number[] {
    return Array.from({ length: batchSize }, () => this.start.rng.int(sliceCount));
  }

  /**
   * Counts a finished step's images and saves a checkpoint when a cadence boundary (or the end) was crossed;
   * returns the saved checkpoint's kimg, if any.
   */
  async afterStep(batchSize: number): Promise<number | undefined> {
    const before = this.start.images;
    this.start.images += batchSize;
    const every = this.checkpointEvery;
    if (Math.floor(this.images / every) > Math.floor(before / every) || this.done) {
      await this.save();
      return this.images / 1000;
    }
    return undefined;
  }

  async save(): Promise<void> {
    if (!this.store) return;
    const trainer: TrainerState = {
      images: this.images,
      rng: this.start.rng.getState(),
      seconds: this.start.priorSeconds + (performance.now() - this.started) / 1000,
    };
    await this.store.save(this.encode({ model: await this.start.model.stateAsync(), trainer }));
  }

  /** Images per second in this process (excludes time before a resume) and the ETA at that rate. */
  rate(): { imagesPerSecond: number; etaSeconds: number } {
    const secs = (performance.now() - this.started) / 1000;
    const imagesPerSecond = secs > 0 ? (this.images - this.startImages) / secs : 0;
    return {
      imagesPerSecond,
      etaSeconds:
        imagesPerSecond > 0 ? Math.max(0, this.totalImages - this.images) / imagesPerSecond : Number.POSITIVE_INFINITY,
    };
  }
}
