// What a standalone GAN training process builds from config (env): logger, compute backend, object store,
// artifact store and the dataset reader over it. Shared by member-main.ts (a pod of the Helm Indexed Job) and
// train-child-main.ts (a training child of the generator service, TRAIN_PROCESSES > 0).
import { initBackend } from "@synthmri/ml";
import { ArtifactStore, type Config, createLogger, type Logger, openObjectStore } from "@synthmri/platform";
import { StoreDatasetReader } from "./adapters/dataset-store.js";
import type { TrainingDeps } from "./domain/training.js";

export interface OpenedProcessDeps {
  deps: TrainingDeps;
  logger: Logger;
  backend: string;
  /** Closes the object store (and the embedded server, if one was started). */
  close(): Promise<void>;
}

export async function openProcessDeps(
  config: Config,
  options: { name: string; provenance?: Record<string, unknown> },
): Promise<OpenedProcessDeps> {
  const logger = createLogger({ name: options.name, level: config.logLevel });
  const backend = await initBackend({ preferred: config.tfBackend, logger });
  const objects = await openObjectStore(config, logger);
  const provenance = { service: "generator", backend: backend.name, ...options.provenance };
  const artifacts = new ArtifactStore({ store: objects.store, logger, provenance });
  return {
    deps: { artifacts, store: objects.store, datasets: new StoreDatasetReader(artifacts), logger, provenance },
    logger,
    backend: backend.name,
    close: () => objects.close(),
  };
}
