// The TrainSegmenter job: load the training set once, then `runs` trainings with different seeds, each
// checkpointed to the object store (so a killed process resumes the run where it stopped) and published
// as version 1 of its own seg-model when done (best validation mean Dice). A run whose model already
// exists is skipped on resume.
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
  NotFound,
  type ObjectRef,
  Unavailable,
} from "@synthmri/platform";
import { ModelStore } from "./model-store.js";
import { loadTrainingSet } from "./training-data.js";
import type { SegModelFields, TrainParams } from "./types.js";

export interface TrainDeps {
  artifacts: ArtifactStore;
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

export async function runTrainingJob(deps: TrainDeps, ctx: Ctx): Promise<TrainResult> {
  const p = ctx.params;
  const models = new ModelStore(deps.artifacts);
  ctx.progress({ phase: "load", message: `reading ${p.sources.length} training dataset(s)`, fraction: 0 });
  const set = await loadTrainingSet(deps.artifacts, p.sources, {
    mixture: p.mixture,
    validationFraction: p.validationFraction,
    seed: p.baseSeed,
    inputSize: p.inputSize,
    signal: ctx.signal,
  });
  const inputs = await Promise.all(p.sources.map((s) => deps.artifacts.manifestRef("dataset", s.datasetId)));
  const unet = unetConfig({ ...p.unet, inChannels: 4, numClasses: 4, inputSize: [p.inputSize, p.inputSize] });
  const refs: ObjectRef[] = [];
  const outputs: Record<string, string> = {};
  for (let run = 0; run < p.runs; run++) {
    const modelId = p.modelIds[run];
    outputs[`model_${run}`] = modelId;
    const existing = await deps.artifacts.tryGetManifest("seg-model", `${modelId}.v1`);
    if (existing) {
      refs.push(await models.manifestRef(modelId, 1));
      continue;
    }
    const seed = runSeed(p.baseSeed, run);
    const key = checkpointKey(ctx.id, run);
    const onProgress = (e: SegTrainProgress) => {
      const fraction = (run + e.iteration / e.totalIterations) / p.runs;
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
      // Remaining runs take as long as this one is taking.
      const eta =
        e.etaSeconds + ((p.runs - run - 1) * e.totalIterations * p.train.batchSize) / Math.max(e.imagesPerSecond, 1e-9);
      ctx.progress({
        fraction,
        phase: `run ${run + 1}/${p.runs} epoch ${e.epoch}/${e.epochs}`,
        message:
          e.kind === "epoch"
            ? `epoch ${e.epoch} done, validation mean Dice ${e.validation?.mean.toFixed(3) ?? "n/a"}`
            : `training run ${run + 1}/${p.runs}`,
        metrics,
        etaSeconds: eta,
      });
    };
    const result = await trainSegmenter({
      data: set.data,
      seed,
      signal: ctx.signal,
      checkpoint: objectCheckpoint(deps.artifacts, key),
      onProgress,
      config: {
        unet,
        ...p.train,
        augmentation: p.augmentation,
        validationBatchSize: 16,
        checkpointEveryIterations: Math.max(1, Math.min(p.train.iterationsPerEpoch, 25)),
      },
    });
    try {
      if (result.cancelled || ctx.signal.aborted) {
        throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Cancelled("training cancelled");
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
          jobId: ctx.id,
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
            provenance: { ...deps.provenance, service: "segmenter", jobId: ctx.id, seed, backend: backendInfo()?.name },
          },
        ),
      );
      refs.push(await models.manifestRef(manifest.model.id, manifest.model.version));
      await deps.artifacts.objects.deleteObject(key).catch(() => undefined);
      ctx.logger.info("segmenter run published", { modelId, run, meanDice: result.best.validation?.mean });
    } finally {
      result.model.dispose();
    }
  }
  ctx.progress({ fraction: 1, phase: "done", message: `${p.runs} model(s) trained` });
  return { outputs, artifacts: refs };
}
