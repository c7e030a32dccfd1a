// What the segmenter's handlers need (server.ts builds it; tests build it with the embedded store).
import {
  type ArtifactStore,
  type JobRunner,
  type JobWork,
  type Logger,
  Semaphore,
  type TrainProcesses,
} from "@synthmri/platform";
import { childRunTrainer } from "./adapters/train-child.js";
import { ModelRegistry } from "./domain/model-registry.js";
import { ModelStore } from "./domain/model-store.js";
import { type RunTrainer, runTrainingJob, type TrainResult } from "./domain/train-job.js";
import type { TrainParams } from "./domain/types.js";
import { StoreDatasetReader } from "./adapters/dataset-store.js";
import type { DatasetReader } from "./domain/ports.js";

export interface SegmenterDeps {
  artifacts: ArtifactStore;
  /** Dataset artifacts (training sets, SegmentDataset); default: read from `artifacts`' object store. */
  datasets: DatasetReader;
  jobs: JobRunner;
  logger?: Logger;
  provenance?: Record<string, unknown>;
  models: ModelStore;
  /** The warm models of this process. */
  registry: ModelRegistry;
  /** Train each run of a TrainSegmenter job in its own child process (TRAIN_PROCESSES > 0). Unset: inline. */
  trainProcesses?: TrainProcesses;
  /**
   * Built from trainProcesses: trains a run in a child process holding one of the service-wide slots
   * (trainProcesses.max, shared by every job). Unset: runs train inline.
   */
  trainRun?: RunTrainer;
}

/** Inputs of startServer: models and registry are built when absent, trainRun always. */
export type SegmenterInputs = Omit<SegmenterDeps, "models" | "registry" | "trainRun" | "datasets"> &
  Partial<Pick<SegmenterDeps, "models" | "registry" | "datasets">>;

export function segmenterDeps(inputs: SegmenterInputs): SegmenterDeps {
  const models = inputs.models ?? new ModelStore(inputs.artifacts);
  const processes = inputs.trainProcesses;
  return {
    ...inputs,
    models,
    datasets: inputs.datasets ?? new StoreDatasetReader(inputs.artifacts),
    registry: inputs.registry ?? new ModelRegistry(models, inputs.logger),
    trainRun:
      processes && processes.max > 0
        ? childRunTrainer(processes, new Semaphore(processes.max), inputs.provenance)
        : undefined,
  };
}

export const TRAIN_JOB_KIND = "train-segmenter";

/** The TrainSegmenter job's work: what TrainSegmenter starts and what recover() resumes after a restart. */
export function trainWork(deps: SegmenterDeps): JobWork<TrainParams, TrainResult> {
  return (ctx) =>
    runTrainingJob({ artifacts: deps.artifacts, datasets: deps.datasets, provenance: deps.provenance }, ctx, {
      trainRun: deps.trainRun,
    });
}
