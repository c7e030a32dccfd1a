// What a segmenter process builds from config (env): logger, compute backend, object store and the artifact
// store over it. Shared by main.ts (the service) and train-child-main.ts (a U-Net run's child process).
import { initBackend } from "@synthmri/ml";
import {
  ArtifactStore,
  type Config,
  createLogger,
  type Logger,
  type OpenedObjectStore,
  openObjectStore,
} from "@synthmri/platform";

export interface ProcessDeps {
  logger: Logger;
  backend: string;
  objects: OpenedObjectStore;
  artifacts: ArtifactStore;
  provenance: Record<string, unknown>;
}

export async function openProcessDeps(config: Config, name: string): Promise<ProcessDeps> {
  const logger = createLogger({ name, level: config.logLevel });
  const backend = await initBackend({ preferred: config.tfBackend, logger });
  const objects = await openObjectStore(config, logger);
  const provenance = { service: "segmenter", backend: backend.name };
  const artifacts = new ArtifactStore({ store: objects.store, logger, provenance });
  return { logger, backend: backend.name, objects, artifacts, provenance };
}
