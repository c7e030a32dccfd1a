// The TrainSegmenter job: `runs` trainings with different seeds, each checkpointed to the object store (so a
// killed process resumes the run where it stopped) and published as version 1 of its own seg-model when done
// (best validation mean Dice). A run whose model already exists is skipped on resume. Inline, the training
// set is loaded once and the runs train one after another in this process; with a RunTrainer (TRAIN_PROCESSES
// > 0) each run trains in its own child process, which loads the set itself, and runs overlap.
import {
  backendInfo,
  decodeTrainState,
  encodeTrainState,
  type SegTrainProgress,
  type TrainCheckpoint,
  trainSegmenter,
  unetConfig,
} from "@synthmri/ml";
import {
  type ArtifactStore,
  Cancelled,
  type JobContext,
  type JobProgress,
  type Logger,
  NotFound,
  type ObjectRef,
  Unavailable,
} from "@synthmri/platform";
import { ModelStore } from "./model-store.js";
import type { DatasetReader } from "./ports.js";
import { loadTrainingSet, type TrainingSet } from "./training-data.js";
import type { SegModelFields, TrainParams } from "./types.js";

export interface TrainDeps {
  artifacts: ArtifactStore;
  /** the training datasets */
  datasets: DatasetReader;
  provenance?: Record<string, unknown>;
}

export interface TrainResult {
  outputs: Record<string, string>;
  artifacts: ObjectRef[];
}

/** Seed of run i: spread out so that runs never share a seed-derived stream. */
export function runSeed(baseSeed: number, run: number): number {
  return (baseSeed + run * 7919) >>> 0;
}

function checkpointKey(jobId: string, run: number): string {
  return `checkpoints/segmenter/${jobId}/run-${run}.smsegst`;
}

/**
 * Retries an object-store call that failed as Unavailable (a keep-alive socket reset by the server while
 * a long synchronous training step held the event loop shows up as ECONNRESET on the next request).
 */
async function retrying<T>(f: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof Unavailable) || i >= attempts) throw e;
    }
  }
}

export function objectCheckpoint(artifacts: ArtifactStore, key: string): TrainCheckpoint {
  const store = artifacts.objects;
  return {
    async save(state) {
      const bytes = encodeTrainState(state);
      await retrying(() => store.putObject(key, bytes, { contentType: "application/octet-stream" }));
    },
    async load() {
      try {
        return decodeTrainState(await retrying(() => store.getBuffer(key)));
      } catch (e) {
        if (e instanceof NotFound) return null;
        throw e;
      }
    },
  };
}

type Ctx = Pick<JobContext<TrainParams>, "id" | "params" | "signal" | "progress" | "logger">;

/** One run of a job: where its checkpoint lives and what it reports (the job's ctx, or a child's). */
export interface RunContext {
  jobId: string;
  params: TrainParams;
  run: number;
  signal: AbortSignal;
  logger: Pick<Logger, "info">;
  onProgress(e: SegTrainProgress): void;
}

/** Trains the TrainSegmenter job's runs in other processes (TRAIN_PROCESSES > 0); see adapters/train-child.ts. */
export type RunTrainer = (run: RunContext) => Promise<ObjectRef>;

export interface TrainJobOptions {
  /** Unset: every run trains in this process, one after another, on a training set loaded once. */
  trainRun?: RunTrainer;
}

/** What the training set and the published models of a job are made from (also what a run child loads). */
export async function loadJobTrainingSet(
  datasets: DatasetReader,
  p: TrainParams,
  signal: AbortSignal,
): Promise<{ set: TrainingSet; inputs: ObjectRef[] }> {
  const set = await loadTrainingSet(datasets, p.sources, {
    mixture: p.mixture,
    validationFraction: p.validationFraction,
    validation: p.validation,
    validationSources: p.validationSources,
    seed: p.baseSeed,
    inputSize: p.inputSize,
    signal,
  });
  const inputs = await Promise.all(p.sources.map((s) => datasets.manifestRef(s.datasetId)));
  return { set, inputs };
}

export async function runTrainingJob(deps: TrainDeps, ctx: Ctx, options: TrainJobOptions = {}): Promise<TrainResult> {
  const p = ctx.params;
  const models = new ModelStore(deps.artifacts);
  const outputs: Record<string, string> = {};
  const refs: (ObjectRef | undefined)[] = [];
  const pending: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    const modelId = p.modelIds[run];
    outputs[`model_${run}`] = modelId;
    // A run whose model exists was published before a restart: skip it.
    if (await deps.artifacts.tryGetManifest("seg-model", `${modelId}.v1`))
      refs.push(await models.manifestRef(modelId, 1));
    else {
      refs.push(undefined);
      pending.push(run);
    }
  }
  const fractions: number[] = refs.map((r) => (r ? 1 : 0));
  const report = (run: number, e: SegTrainProgress, etaSeconds: number | undefined) => {
    fractions[run] = e.iteration / e.totalIterations;
    ctx.progress(runProgress(p, run, e, fractions.reduce((a, f) => a + f, 0) / p.runs, etaSeconds));
  };
  if (options.trainRun && pending.length) {
    const trainRun = options.trainRun;
    ctx.progress({ phase: "runs", message: `training ${pending.length} run(s) in child processes`, fraction: 0 });
    // The first failing run stops the others (their children are cancelled), and its error is the job's.
    const stop = new AbortController();
    const onAbort = () => stop.abort(ctx.signal.reason);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const results = await Promise.allSettled(
        pending.map(async (run) => {
          try {
            refs[run] = await trainRun({
              jobId: ctx.id,
              params: p,
              run,
              signal: stop.signal,
              logger: ctx.logger,
              // Runs overlap: the runner estimates the ETA from the overall fraction.
              onProgress: (e) => report(run, e, undefined),
            });
          } catch (e) {
            if (!stop.signal.aborted) stop.abort(e);
            throw e;
          }
        }),
      );
      if (ctx.signal.aborted)
        throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Cancelled("training cancelled");
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw stop.signal.reason ?? failed.reason;
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
    }
  } else if (pending.length) {
    ctx.progress({ phase: "load", message: `reading ${p.sources.length} training dataset(s)`, fraction: 0 });
    const { set, inputs } = await loadJobTrainingSet(deps.datasets, p, ctx.signal);
    for (const run of pending) {
      refs[run] = await trainRun(deps, set, inputs, {
        jobId: ctx.id,
        params: p,
        run,
        signal: ctx.signal,
        logger: ctx.logger,
        onProgress: (e) => {
          // Remaining runs take as long as this one is taking.
          const eta =
            e.etaSeconds +
            ((p.runs - run - 1) * e.totalIterations * p.train.batchSize) / Math.max(e.imagesPerSecond, 1e-9);
          report(run, e, eta);
        },
      });
    }
  }
  ctx.progress({ fraction: 1, phase: "done", message: `${p.runs} model(s) trained` });
  return { outputs, artifacts: refs.map((r) => r as ObjectRef) };
}

/** The job's progress for one run's training report; `fraction` is the whole job's. */
function runProgress(
  p: TrainParams,
  run: number,
  e: SegTrainProgress,
  fraction: number,
  etaSeconds: number | undefined,
): JobProgress {
  const metrics: Record<string, number> = {
    run,
    epoch: e.epoch,
    iteration: e.iteration,
    loss: e.loss,
    lr: e.lr,
    images_per_second: e.imagesPerSecond,
  };
  if (e.validation) {
    metrics.val_dice_ncr = e.validation.ncr;
    metrics.val_dice_ed = e.validation.ed;
    metrics.val_dice_et = e.validation.et;
    metrics.val_dice_mean = e.validation.mean;
    metrics.val_dice_wt = e.validation.wt;
  }
  if (e.kind === "epoch") metrics.epoch_loss = e.loss;
  return {
    fraction,
    phase: `run ${run + 1}/${p.runs} epoch ${e.epoch}/${e.epochs}`,
    message:
      e.kind === "epoch"
        ? `epoch ${e.epoch} done, validation mean Dice ${e.validation?.mean.toFixed(3) ?? "n/a"}`
        : `training run ${run + 1}/${p.runs}`,
    metrics,
    etaSeconds,
  };
}

/** Trains one run (resuming from its checkpoint) and publishes it as version 1 of its seg-model. */
export async function trainRun(
  deps: TrainDeps,
  set: TrainingSet,
  inputs: ObjectRef[],
  r: RunContext,
): Promise<ObjectRef> {
  const { params: p, run } = r;
  const models = new ModelStore(deps.artifacts);
  const modelId = p.modelIds[run];
  const seed = runSeed(p.baseSeed, run);
  const key = checkpointKey(r.jobId, run);
  const unet = unetConfig({ ...p.unet, inChannels: 4, numClasses: 4, inputSize: [p.inputSize, p.inputSize] });
  const { maxSeconds, ...train } = p.train;
  const result = await trainSegmenter({
    data: set.data,
    seed,
    signal: r.signal,
    checkpoint: objectCheckpoint(deps.artifacts, key),
    onProgress: r.onProgress,
    // The run's time limit (seed 000: up to 3 days): stops between iterations, the best validated epoch is kept.
    ...(maxSeconds ? { maxDurationMs: maxSeconds * 1000 } : {}),
    config: {
      unet,
      ...train,
      augmentation: p.augmentation,
      validationBatchSize: 16,
      checkpointEveryIterations: Math.max(1, Math.min(p.train.iterationsPerEpoch, 25)),
    },
  });
  try {
    if (result.cancelled || r.signal.aborted) {
      throw r.signal.reason instanceof Error ? r.signal.reason : new Cancelled("training cancelled");
    }
    const fields: SegModelFields = {
      model: {
        id: modelId,
        version: 1,
        name: p.name,
        run,
        seed,
        sources: p.sources,
        mixture: p.mixture,
        unet: result.model.config,
        train: p.train,
        augmentation: p.augmentation,
        validationDice: result.best.validation,
        bestEpoch: result.best.epoch,
        preprocessing: {
          dataset: set.preprocessing,
          datasetSize: set.datasetSize,
          inputSize: p.inputSize,
          normalization: "zscore-brain",
        },
        jobId: r.jobId,
        labels: p.labels,
        weights: "model.smunet",
      },
    };
    const manifest = await retrying(() =>
      models.publish(
        fields,
        result.best.weights,
        { history: result.history, counts: set.counts },
        {
          inputs,
          params: { ...p, modelIds: undefined } as unknown as Record<string, unknown>,
          provenance: { ...deps.provenance, service: "segmenter", jobId: r.jobId, seed, backend: backendInfo()?.name },
        },
      ),
    );
    const ref = await models.manifestRef(manifest.model.id, manifest.model.version);
    await deps.artifacts.objects.deleteObject(key).catch(() => undefined);
    r.logger.info("segmenter run published", { modelId, run, meanDice: result.best.validation?.mean });
    return ref;
  } finally {
    result.model.dispose();
  }
}
