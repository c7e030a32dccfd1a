// @synthmri/segmenter: the segmenter service (training, warm inference) and its domain helpers.
export {
  build,
  SEGMENTER_SERVICE_NAME,
  type SegmenterDeps,
  type StartedServer,
  segmenterDeps,
  startServer,
} from "./server.js";
export { ModelStore, versionArtifactId } from "./domain/model-store.js";
export { ModelRegistry } from "./domain/model-registry.js";
export type * from "./domain/types.js";
export { type RemoteVolumeResult, type SegmenterClient, type SequenceFiles, segmentVolumeRemote } from "./client.js";
export { resolveTrainParams, type TrainRequest } from "./domain/train-params.js";
export type { UnetRunItem, UnetRunResult } from "./domain/indexed-run.js";
export { StoreDatasetReader } from "./adapters/dataset-store.js";
