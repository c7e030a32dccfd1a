// What the segmenter's handlers need (server.ts builds it; tests build it with the embedded store).
import type { ArtifactStore, JobRunner, Logger } from "@synthmri/platform";
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
}

/** Inputs of startServer: models and registry are built from the artifact store when absent. */
export type SegmenterInputs = Omit<SegmenterDeps, "models" | "registry"> &
  Partial<Pick<SegmenterDeps, "models" | "registry">>;

export function segmenterDeps(inputs: SegmenterInputs): SegmenterDeps {
  const models = inputs.models ?? new ModelStore(inputs.artifacts);
  return { ...inputs, models, registry: inputs.registry ?? new ModelRegistry(models, inputs.logger) };
}
