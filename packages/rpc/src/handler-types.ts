import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { CallContext } from "./context.js";

type In<M extends GenServiceMethods[string]> = MessageShape<M["input"]>;
type Out<M extends GenServiceMethods[string]> = MessageInitShape<M["output"]>;

/** Responses may be full messages or plain init objects ({ jobId: "..." }). */
export type Reply<D extends DescMessage> = MessageInitShape<D>;

export type UnaryHandler<M extends GenServiceMethods[string]> = (
  request: In<M>,
  context: CallContext,
) => Promise<Out<M>>;
export type ServerStreamHandler<M extends GenServiceMethods[string]> = (
  request: In<M>,
  context: CallContext,
) => AsyncIterable<Out<M>>;
export type ClientStreamHandler<M extends GenServiceMethods[string]> = (
  requests: AsyncIterable<In<M>>,
  context: CallContext,
) => Promise<Out<M>>;
export type BidiStreamHandler<M extends GenServiceMethods[string]> = (
  requests: AsyncIterable<In<M>>,
  context: CallContext,
) => AsyncIterable<Out<M>>;

export type HandlerFor<M extends GenServiceMethods[string]> = M["methodKind"] extends "unary"
  ? UnaryHandler<M>
  : M["methodKind"] extends "server_streaming"
    ? ServerStreamHandler<M>
    : M["methodKind"] extends "client_streaming"
      ? ClientStreamHandler<M>
      : BidiStreamHandler<M>;

/**
 * Implementation of a generated service: one handler per method, keyed by the generated local name
 * (e.g. `getJob`). Methods left out answer UNIMPLEMENTED.
 */
export type ServiceImpl<S extends GenServiceMethods> = { [K in keyof S]: HandlerFor<S[K]> };
export type ServiceMethodsOf<T> = T extends GenService<infer S> ? S : never;
