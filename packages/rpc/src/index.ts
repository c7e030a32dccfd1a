// @synthmri/rpc: protobuf-es services on grpc-js.
export {
  type ClientMethod,
  type Client,
  type ClientOptions,
  type CallOptions,
  type RetryPolicy,
  createClient,
} from "./client.js";
export { DecodeFailure, isDecodeFailure } from "./codec.js";
export {
  type LabelSchemeName,
  labelSchemeFromProto,
  labelSchemeToProto,
  type ModalityName,
  modalityFromProto,
  modalityToProto,
  type SequenceModalityName,
  sequenceFromProto,
  type SplitName,
  splitFromProto,
  splitToProto,
} from "./enums.js";
export type { CallContext, CallInfo, CallOutcome, ServerInterceptor } from "./context.js";
export { clientCredentials, serverCredentials, type TlsOptions, tlsFromConfig } from "./credentials.js";
export type { HandlerFor, ServiceImpl, ServiceMethodsOf } from "./handler-types.js";
export { authInterceptor, bearerToken, loggingInterceptor } from "./interceptors.js";
export { type MetricsInterceptorOptions, metricsInterceptor } from "./metrics.js";
export { noopLogger } from "./logger.js";
export { packageDefinitionOf } from "./reflection.js";
export {
  createServer,
  DEFAULT_MAX_MESSAGE_BYTES,
  hostPort,
  type KeepaliveOptions,
  type RpcServer,
  type ServerOptions,
} from "./server.js";
export { methodPath, toServiceDefinition } from "./service-definition.js";
export { shutdownOnSignals, type ShutdownOptions } from "./shutdown.js";
export { codeForKind, codeName, isRpcError, RpcError, statusFromError } from "./status.js";
export {
  DEFAULT_CHUNK_BYTES,
  dtypeSize,
  type ReceivedTensor,
  type ReceiveOptions,
  receiveTensor,
  receiveTensors,
  sendTensor,
  type TensorLike,
  tensorFrames,
  typedArrayOf,
} from "./tensor-stream.js";
export { status as GrpcStatus, Metadata } from "@grpc/grpc-js";
export * from "./jobs/index.js";
export { checkHealth, type HealthStatus } from "./health-check.js";
export { serviceInfo, suiteVersion } from "./service-info.js";
