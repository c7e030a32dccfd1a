// @synthmri/evaluator: the evaluator service and its gRPC adapters. (The memorization gate is @synthmri/ml's
// MemorizationGate; the generator's partner flow uses it directly.)
export { build, startServer, type EvaluatorDeps, type StartedServer } from "./server.js";
export type * from "./domain/ports.js";
export { StoreSliceSource } from "./adapters/dataset-store.js";
export { GrpcSegmenter } from "./adapters/segmenter-client.js";
