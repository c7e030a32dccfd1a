// @synthmri/generator: the generator service (GAN training jobs, ensembles, sampling, synthetic datasets).
export { build, startServer, type GeneratorDeps, type StartedServer, type StartOptions } from "./server.js";
export type { GeneratorContext } from "./context.js";
export { StoreDatasetReader } from "./adapters/dataset-store.js";
export type { DatasetReader, DatasetSummary, LoadedSlices } from "./domain/ports.js";
export { generateSamples, resolveSource, type SampleParams, type OutputBatch } from "./domain/sampling.js";
export { trainMember, type TrainMemberParams } from "./domain/training.js";
export { resolveTraining, type TrainSettings } from "./domain/params.js";
export { DEFAULT_QUALITY, type QualitySettings, latestCheckpoint, loadCheckpointModel } from "./domain/checkpoints.js";
export { commitEnsemble, ENSEMBLE_KIND, JOB_KINDS, memberGanId, memberSeedOf } from "./domain/ensembles.js";
export { EnsembleRegistry, type EnsembleRecord } from "./domain/registry.js";
export {
  type GanMemberItem,
  type GanMemberResult,
  planClusterEnsemble,
  runGanMemberItem,
} from "./domain/cluster-ensemble.js";
export { settingsFromProto } from "./handlers/convert.js";
