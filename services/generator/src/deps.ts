// What the generator service is built from (its own file so handlers can name it without importing server.ts).
import type { ArtifactStore, JobRunner, Logger, ObjectStore } from "@synthmri/platform";
import type { TrainProcesses } from "./adapters/train-child.js";
import type { QualitySettings } from "./domain/checkpoints.js";
import type { DatasetReader } from "./domain/ports.js";

export interface GeneratorDeps {
  artifacts: ArtifactStore;
  /** The same store the artifacts live in (checkpoint listing, ensemble records). */
  store: ObjectStore;
  /**
   * Job runner of this service. Its concurrency must exceed the largest ensemble + 1 (parent jobs wait on
   * their members); how much GAN work runs at once is `workConcurrency`.
   */
  jobs: JobRunner;
  /** Default: the dataset shards in the object store. */
  datasets?: DatasetReader;
  logger?: Logger;
  provenance?: Record<string, unknown>;
  quality?: QualitySettings;
  /** Trainings / dataset generations computing at once in this process (config.jobConcurrency); default 1. */
  workConcurrency?: number;
  /**
   * Train each GAN member in its own child process (config.trainProcesses > 0), at most `max` at once; the
   * in-process limit workConcurrency then applies to dataset generation only. Unset: train inline.
   */
  trainProcesses?: TrainProcesses;
}
