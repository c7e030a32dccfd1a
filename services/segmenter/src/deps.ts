// What the segmenter's handlers need (server.ts builds it; tests build it with the embedded store).
import { type ArtifactStore, type JobRunner, type Logger, Semaphore, type TrainProcesses } from "@synthmri/platform";
import { childRunTrainer } from "./adapters/run-child.js";
import { ModelRegistry } from "./domain/model-registry.js";
import { ModelStore } from "./domain/model-store.js";
import type { RunTrainer } from "./domain/train-job.js";

export interface SegmenterDeps {
  artifacts: ArtifactStore;
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
export type SegmenterInputs = Omit<SegmenterDeps, "models" | "registry" | "trainRun"> &
  Partial<Pick<SegmenterDeps, "models" | "registry">>;

export function segmenterDeps(inputs: SegmenterInputs): SegmenterDeps {
  const models = inputs.models ?? new ModelStore(inputs.artifacts);
  const processes = inputs.trainProcesses;
  return {
    ...inputs,
    models,
    registry: inputs.registry ?? new ModelRegistry(models, inputs.logger),
    trainRun:
      processes && processes.max > 0
        ? childRunTrainer(processes, new Semaphore(processes.max), inputs.provenance)
        : undefined,
  };
}
