// @synthmri/evaluator: the evaluator service, plus the memorization gate for the generator's partner flow.
export { build, startServer, type EvaluatorDeps, type StartedServer } from "./server.js";
export {
  buildMemorizationGate,
  gateSamples,
  DEFAULT_NCC_THRESHOLD,
  type GateOptions,
} from "./domain/memorization-gate.js";
export type * from "./domain/ports.js";
export { IngestSliceSource } from "./adapters/ingest-source.js";
export { GrpcSegmenter } from "./adapters/segmenter-client.js";
