// What the evaluator is built from (its own file so handlers and server do not import each other).
import type { ArtifactStore, JobRunner, Logger } from "@synthmri/platform";
import type { Segmenter, SliceSource } from "./domain/ports.js";
import type { QualitySettings } from "./domain/quality.js";

export interface EvaluatorDeps {
  artifacts: ArtifactStore;
  jobs: JobRunner;
  source: SliceSource;
  segmenter: Segmenter;
  logger?: Logger;
  /** Image-quality effort (default DEFAULT_QUALITY_SETTINGS). */
  quality?: QualitySettings;
  provenance?: Record<string, unknown>;
}
