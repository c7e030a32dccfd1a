// Maps a protobuf-es service descriptor to a grpc-js ServiceDefinition.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import { deserializerFor, serializerFor, tolerantDeserializerFor } from "./codec.js";

/** "/synthmri.common.v1.JobService/GetJob" */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * Server-side definition: request deserializers never throw (bad bytes become a DecodeFailure marker the
 * handler wrapper answers with INVALID_ARGUMENT), keyed by the protobuf method name (e.g. "GetJob").
 */
export function toServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    def[m.name] = {
      path: methodPath(m),
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: serializerFor(m.input),
      requestDeserialize: tolerantDeserializerFor(m.input),
      responseSerialize: serializerFor(m.output),
      responseDeserialize: deserializerFor(m.output),
      originalName: m.localName,
    };
  }
  return def as grpc.ServiceDefinition;
}
