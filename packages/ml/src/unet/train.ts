// The segmentation training loop (seed 000 section 3.2): seeded sampling and augmentation on the host,
// deep-supervised CE + Dice, SGD Nesterov with poly decay, validation Dice each epoch, best checkpoint kept,
// cancellable between iterations and resumable bit-for-bit from its serialised state.
import { InvalidInput } from "@synthmri/core";
import { allVariables, hostReadable, syncReadsWork } from "../backend/host-read.js";
import { backendInfo } from "../backend/resolve.js";
import { tf } from "../backend/tf.js";
import { registerProjectKernels } from "../kernels/index.js";
import { polyLr, sgdNesterov } from "../layers/optimizers.js";
import { Rng } from "../random/index.js";
import { segmentationAugmentation } from "../transforms/index.js";
import type { SegSample } from "../transforms/types.js";
import { foregroundIndices, type TrainData } from "./data.js";
import { deepSupervisionLoss, deepSupervisionTargets } from "./loss.js";
import { sizeMultiple } from "./config.js";
import { UNet } from "./model.js";
import { checkPatchSize, cropPatch } from "./patch.js";
import { forcedForegroundCount, MixedSampler } from "./sampler.js";
import { loadUNet, loadUNetWeightsInto, saveUNet } from "./serialize.js";
import { type SegTrainConfig, segTrainConfig, totalIterations } from "./train-config.js";
import type { BestModel, EpochRecord, SegTrainState } from "./train-state.js";
import { type ValidationDice, validateSegmenter } from "./validation.js";

export interface SegTrainProgress {
  kind: "iteration" | "epoch";
  /** 1-based epoch the iteration belongs to (or that just ended). */
  epoch: number;
  epochs: number;
  iteration: number;
  totalIterations: number;
  /** Loss of this iteration ("iteration") or mean loss over the epoch ("epoch"). */
  loss: number;
  lr: number;
  imagesPerSecond: number;
  etaSeconds: number;
  /** On "epoch": this epoch's validation Dice (null without validation data). */
  validation?: ValidationDice | null;
  best?: { epoch: number; meanDice: number } | null;
}

export interface TrainCheckpoint {
  save(state: SegTrainState): Promise<void>;
  /** The last saved state, or null to start fresh. */
  load(): Promise<SegTrainState | null>;
}

export interface TrainSegmenterOptions {
  config?: Partial<SegTrainConfig>;
  data: TrainData;
  /** Determines initial weights, sampling and augmentation: same seed, same run. */
  seed: number;
  signal?: AbortSignal;
  onProgress?: (p: SegTrainProgress) => void;
  checkpoint?: TrainCheckpoint;
  /** Optional wall-clock budget (seed 000: 3 days); the run stops cleanly when exceeded. */
  maxDurationMs?: number;
}

export interface SegTrainResult {
  /** The best model by validation mean Dice (the last one without validation data). Caller disposes. */
  model: UNet;
  best: BestModel;
  history: EpochRecord[];
  /** True when stopped by the signal; `state` then resumes the run. */
  cancelled: boolean;
  state: SegTrainState;
}

function freshState(config: SegTrainConfig, seed: number): { state: SegTrainState; model: UNet; rng: Rng } {
  const master = new Rng(seed);
  const model = new UNet(config.unet, master.nextU32());
  const rng = master.fork();
  const state: SegTrainState = {
    version: 1,
    seed,
    config,
    iteration: 0,
    validatedIteration: 0,
    weights: new Uint8Array(0),
    optimizer: {
      kind: "sgd-nesterov",
      step: 0,
      lr: config.lr,
      index: { format: "synthmri-f32le", version: 1, entries: [] },
      data: new Uint8Array(0),
    },
    rng: rng.getState(),
    sampler: { round: [] },
    epochLossSum: 0,
    epochLossCount: 0,
    best: null,
    history: [],
    elapsedMs: 0,
  };
  return { state, model, rng };
}

/** Stacks augmented samples into NHWC + labels; every sample must have the batch's shape. */
function stack(samples: SegSample[]): { x: Float32Array; labels: Uint8Array; h: number; w: number; c: number } {
  const { height: h, width: w, channels: c } = samples[0];
  const x = new Float32Array(samples.length * h * w * c);
  const labels = new Uint8Array(samples.length * h * w);
  samples.forEach((s, i) => {
    if (s.height !== h || s.width !== w || s.channels !== c)
      throw new InvalidInput(
        `training slices differ in shape (${h}x${w}x${c} and ${s.height}x${s.width}x${s.channels}); resample the datasets to one size`,
      );
    x.set(s.image, i * h * w * c);
    labels.set(s.label, i * h * w);
  });
  return { x, labels, h, w, c };
}

/** Inputs per AddN on device backends: with the output, within WebGPU's default 8 storage buffers per shader. */
const ADDN_CHUNK = 6;

/**
 * tf.addN of many scalars. The webgpu AddN binds every input as its own storage buffer and fails validation
 * (silently yielding garbage) past the device's limit, so there the sum is a left fold of small AddNs; the
 * synchronous backends keep one AddN (their AddN accumulates left to right too, but keep it verbatim).
 */
function sumAll(terms: tf.Tensor[]): tf.Tensor {
  if (syncReadsWork() || terms.length <= ADDN_CHUNK) return tf.addN(terms);
  let acc = tf.addN(terms.slice(0, ADDN_CHUNK));
  for (let i = ADDN_CHUNK; i < terms.length; i += ADDN_CHUNK - 1)
    acc = tf.addN([acc, ...terms.slice(i, i + ADDN_CHUNK - 1)]);
  return acc;
}

/** One optimisation step; returns the loss. Gradients are clipped to a global norm (nnU-Net: 12). */
async function step(
  model: UNet,
  opt: ReturnType<typeof sgdNesterov>,
  batch: ReturnType<typeof stack>,
  clip: number,
  n: number,
): Promise<number> {
  const { numClasses, deepSupervisionHeads } = model.config;
  const targets = deepSupervisionTargets(batch.labels, n, batch.h, batch.w, deepSupervisionHeads, numClasses);
  const x = tf.tensor4d(batch.x, [n, batch.h, batch.w, batch.c]);
  try {
    const { value, grads } = model.params.valueAndGrads(() =>
      deepSupervisionLoss(model.forward(x, { training: true }), targets),
    );
    let applied = grads;
    if (clip > 0) {
      const norm = tf.tidy(() => tf.sqrt(sumAll(Object.values(grads).map((g) => tf.sum(tf.square(g))))));
      const total = (await norm.data())[0];
      norm.dispose();
      if (total > clip) {
        applied = {};
        for (const [k, g] of Object.entries(grads)) {
          applied[k] = tf.mul(g, clip / (total + 1e-6));
          g.dispose();
        }
      }
    }
    opt.apply(model.params, applied);
    const loss = (await value.data())[0];
    value.dispose();
    return loss;
  } finally {
    x.dispose();
    for (const t of targets) t.dispose();
  }
}

/**
 * Trains one U-Net. With a checkpoint that holds a state, the run resumes from it (its config wins over
 * `options.config`; the seed must match) and ends with exactly the weights an uninterrupted run would have.
 * Each epoch ends with validation Dice on `data.validation` (the caller holds out 20 %, e.g. with `holdOut`)
 * and a checkpoint save; the best epoch by mean NCR/ED/ET Dice is kept. `signal` is checked between
 * iterations (and between validation batches); on abort the state is saved and `cancelled` is true.
 */
export async function trainSegmenter(options: TrainSegmenterOptions): Promise<SegTrainResult> {
  const { data, signal, onProgress, checkpoint } = options;
  // initBackend() registers the project's conv-gradient kernels; a caller that only set a backend (tests,
  // scripts) would otherwise train on the stock cpu Conv2DBackpropFilter, ~60x slower than the forward conv.
  if (!backendInfo()) registerProjectKernels();
  if (!data.train.length) throw new InvalidInput("training needs at least one data pool");
  let resumed = checkpoint ? await checkpoint.load() : null;
  if (resumed && resumed.seed !== options.seed)
    throw new InvalidInput(
      `checkpoint belongs to seed ${resumed.seed}, not ${options.seed}; use a new checkpoint location per run`,
    );
  const config = resumed ? resumed.config : segTrainConfig(options.config);
  const fresh = freshState(config, options.seed);
  const model = fresh.model;
  if (config.patchSize) {
    const side = model.config.inputSize?.[0] ?? config.patchSize;
    checkPatchSize(config.patchSize, side, sizeMultiple(model.config));
  }
  const opt = sgdNesterov({ lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay });
  let state = fresh.state;
  let rng = fresh.rng;
  if (resumed) {
    loadUNetWeightsInto(model, resumed.weights);
    if (resumed.optimizer.index.entries.length) opt.setState(resumed.optimizer);
    rng = Rng.fromState(resumed.rng);
    state = resumed;
    resumed = null;
  }
  // States saved before foreground oversampling existed resume without it (bit-exact with their start).
  const fgFraction = config.foregroundOversample ?? 0;
  const fgPerBatch = forcedForegroundCount(config.batchSize, fgFraction);
  const foreground = fgPerBatch > 0 ? await Promise.all(data.train.map((s) => foregroundIndices(s))) : [];
  const sampler = new MixedSampler(
    data.train.map((s) => s.length),
    state.sampler,
    foreground,
  );
  const augment = segmentationAugmentation(config.augmentation);
  const total = totalIterations(config);
  const ipe = config.iterationsPerEpoch;
  const started = Date.now();
  const elapsedBefore = state.elapsedMs;
  let imagesThisRun = 0;
  let cancelled = false;

  // saveUNet and the optimizer's getState read synchronously; on an asynchronous backend (webgpu) the weights
  // and slots are downloaded first (the optimizer's slots are private to layers/, hence every variable).
  const snapshot = async (): Promise<SegTrainState> => {
    await hostReadable(allVariables());
    return snapshotNow();
  };
  const snapshotNow = (): SegTrainState => ({
    ...state,
    weights: saveUNet(model),
    optimizer: opt.getState(),
    rng: rng.getState(),
    sampler: sampler.getState(),
    elapsedMs: elapsedBefore + (Date.now() - started),
  });
  const rate = () => imagesThisRun / Math.max((Date.now() - started) / 1000, 1e-3);
  const eta = () => ((total - state.iteration) * config.batchSize) / Math.max(rate(), 1e-9);

  const endEpoch = async (): Promise<boolean> => {
    const epoch = Math.ceil(state.iteration / ipe);
    const validation = await validateSegmenter(model, data.validation, {
      batchSize: config.validationBatchSize,
      maxSamples: config.maxValidationSamples,
      signal,
    });
    if (signal?.aborted) return false;
    await hostReadable(model.params.variables());
    const lr = polyLr(config.lr, epoch - 1, config.epochs, config.polyExponent);
    const record: EpochRecord = {
      epoch,
      meanLoss: state.epochLossCount ? state.epochLossSum / state.epochLossCount : Number.NaN,
      lr,
      validation,
      seconds: (elapsedBefore + Date.now() - started) / 1000,
    };
    const better =
      !state.best ||
      (validation !== null && (state.best.validation === null || validation.mean > state.best.validation.mean));
    state = {
      ...state,
      history: [...state.history, record],
      validatedIteration: state.iteration,
      epochLossSum: 0,
      epochLossCount: 0,
      // Without validation data the latest weights are "best".
      best: better || validation === null ? { epoch, validation, weights: saveUNet(model) } : state.best,
    };
    onProgress?.({
      kind: "epoch",
      epoch,
      epochs: config.epochs,
      iteration: state.iteration,
      totalIterations: total,
      loss: record.meanLoss,
      lr,
      imagesPerSecond: rate(),
      etaSeconds: eta(),
      validation,
      best: state.best ? { epoch: state.best.epoch, meanDice: state.best.validation?.mean ?? Number.NaN } : null,
    });
    return true;
  };

  try {
    while (true) {
      // An epoch that ended (possibly before a kill) but was not validated yet.
      if (state.iteration > state.validatedIteration && (state.iteration % ipe === 0 || state.iteration >= total)) {
        if (!(await endEpoch())) {
          cancelled = true;
          break;
        }
        if (checkpoint) await checkpoint.save(await snapshot());
      }
      if (state.iteration >= total) break;
      if (
        signal?.aborted ||
        (options.maxDurationMs !== undefined && state.elapsedMs + Date.now() - started > options.maxDurationMs)
      ) {
        cancelled = !!signal?.aborted;
        break;
      }
      const epochIndex = Math.floor(state.iteration / ipe);
      opt.lr = polyLr(config.lr, epochIndex, config.epochs, config.polyExponent);
      const samples: SegSample[] = [];
      for (let b = 0; b < config.batchSize; b++) {
        const forced = b >= config.batchSize - fgPerBatch;
        const { pool, index } = sampler.next(rng, forced);
        const sample = augment.apply(await data.train[pool].get(index), rng);
        samples.push(config.patchSize ? cropPatch(sample, config.patchSize, rng, forced) : sample);
      }
      const loss = await step(model, opt, stack(samples), config.gradClipNorm, samples.length);
      // A step resolves through microtasks only; give the event loop a turn so the hosting service keeps
      // answering RPCs (WatchJob, health, keepalive) while it trains.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!Number.isFinite(loss))
        throw new InvalidInput(
          `training diverged at iteration ${state.iteration + 1} (loss ${loss}); lower lr or check the input data`,
        );
      imagesThisRun += samples.length;
      state = {
        ...state,
        iteration: state.iteration + 1,
        epochLossSum: state.epochLossSum + loss,
        epochLossCount: state.epochLossCount + 1,
      };
      onProgress?.({
        kind: "iteration",
        epoch: epochIndex + 1,
        epochs: config.epochs,
        iteration: state.iteration,
        totalIterations: total,
        loss,
        lr: opt.lr,
        imagesPerSecond: rate(),
        etaSeconds: eta(),
      });
      if (
        checkpoint &&
        config.checkpointEveryIterations > 0 &&
        state.iteration % config.checkpointEveryIterations === 0 &&
        state.iteration % ipe !== 0
      )
        await checkpoint.save(await snapshot());
    }
    const final = await snapshot();
    // Stopped early (cancel or time budget): leave a state to resume from.
    if (checkpoint && final.iteration < total) await checkpoint.save(final);
    const best = final.best ?? { epoch: Math.ceil(final.iteration / ipe), validation: null, weights: final.weights };
    return { model: loadUNet(best.weights), best, history: final.history, cancelled, state: final };
  } finally {
    model.dispose();
    opt.dispose();
  }
}
