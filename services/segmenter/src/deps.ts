// What the segmenter's handlers need (server.ts builds it; tests build it with the embedded store).
import { type ArtifactStore, type JobRunner, type Logger, Semaphore } from "@synthmri/platform";
import type { TrainProcesses } from "./adapters/run-child.js";
import { ModelRegistry } from "./domain/model-registry.js";
import { ModelStore } from "./domain/model-store.js";

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
  /** The service-wide training child slots (trainProcesses.max), shared by every job. */
  trainSlots?: Semaphore;
}

/** Inputs of startServer: models, registry and trainSlots are built when absent. */
export type SegmenterInputs = Omit<SegmenterDeps, "models" | "registry" | "trainSlots"> &
  Partial<Pick<SegmenterDeps, "models" | "registry" | "trainSlots">>;

export function segmenterDeps(inputs: SegmenterInputs): SegmenterDeps {
  const models = inputs.models ?? new ModelStore(inputs.artifacts);
  const max = inputs.trainProcesses?.max ?? 0;
  return {
    ...inputs,
    models,
    registry: inputs.registry ?? new ModelRegistry(models, inputs.logger),
    trainSlots: inputs.trainSlots ?? (max > 0 ? new Semaphore(max) : undefined),
  };
}
