// Binary codec of protobuf-es messages for grpc-js: one generic serializer per schema, no per-message code.
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";

/**
 * What a deserializer returns for bytes that do not decode. grpc-js would turn a throwing deserializer into
 * INTERNAL; returning this marker lets the handler wrapper answer INVALID_ARGUMENT with the reason instead.
 */
export class DecodeFailure {
  constructor(
    readonly typeName: string,
    readonly reason: string,
  ) {}
  message(): string {
    return `request is not a valid ${this.typeName} message: ${this.reason}`;
  }
}

export function isDecodeFailure(v: unknown): v is DecodeFailure {
  return v instanceof DecodeFailure;
}

/** Serializer: accepts a message or a plain init object (create() returns messages unchanged). */
export function serializerFor<D extends DescMessage>(schema: D): (value: unknown) => Buffer {
  return (value) => {
    const bytes = toBinary(schema, create(schema, value as never));
    // Wrap without copying: grpc-js only needs a Buffer view.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Deserializer that never throws: bad bytes yield a DecodeFailure. */
export function tolerantDeserializerFor<D extends DescMessage>(schema: D): (bytes: Buffer) => MessageShape<D> {
  return (bytes) => {
    try {
      return fromBinary(schema, bytes);
    } catch (e) {
      return new DecodeFailure(
        schema.typeName,
        e instanceof Error ? e.message : String(e),
      ) as unknown as MessageShape<D>;
    }
  };
}

/** Deserializer for the client side: a response that does not decode is an error of the call. */
export function deserializerFor<D extends DescMessage>(schema: D): (bytes: Buffer) => MessageShape<D> {
  return (bytes) => fromBinary(schema, bytes);
}
