// Binary codec of protobuf-es messages for grpc-js: one generic serializer per schema, no per-message code.
import {
  create,
  type DescMessage,
  fromBinary,
  type Message,
  type MessageShape,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";

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

/** Bytes fields at least this long are written once into the output instead of through toBinary. */
export const LARGE_BYTES = 64 * 1024;

/** Serializer: accepts a message or a plain init object (create() returns messages unchanged). */
export function serializerFor<D extends DescMessage>(schema: D): (value: unknown) => Buffer {
  return (value) => encodeMessage(schema, create(schema, value as never) as Message);
}

interface LargeField {
  /** Field numbers from the top message down to the bytes field. */
  path: number[];
  data: Uint8Array;
}

/**
 * toBinary, minus its copies of big payloads: protobuf-es copies a bytes field once per nesting level (each
 * nested message is finished into its own buffer), so a 1 MiB tensor chunk three levels deep was copied about
 * four times. Here large bytes fields reachable through singular message fields are taken out, the rest is
 * encoded by toBinary, and each large field is appended as its own length-delimited path. That is valid
 * protobuf: parsers merge repeated occurrences of a singular message field (and protobuf-es, grpc-java, Go and
 * Python all do), so the decoded message is identical, and the payload is copied exactly once.
 */
export function encodeMessage(schema: DescMessage, message: Message): Buffer {
  const large: LargeField[] = [];
  const restore: (() => void)[] = [];
  collectLarge(reflect(schema, message), [], large, restore);
  if (large.length === 0) {
    const bytes = toBinary(schema, message);
    // Wrap without copying: grpc-js only needs a Buffer view.
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  let rest: Uint8Array;
  try {
    rest = toBinary(schema, message);
  } finally {
    // The caller's message is left exactly as it was (synchronous, so nobody saw it without its payload).
    for (const r of restore) r();
  }
  const headers = large.map((f) => pathHeader(f.path, f.data.byteLength));
  let size = rest.byteLength;
  for (let i = 0; i < large.length; i++) size += headers[i].byteLength + large[i].data.byteLength;
  const out = Buffer.allocUnsafe(size);
  out.set(rest, 0);
  let at = rest.byteLength;
  for (let i = 0; i < large.length; i++) {
    out.set(headers[i], at);
    at += headers[i].byteLength;
    out.set(large[i].data, at);
    at += large[i].data.byteLength;
  }
  return out;
}

function collectLarge(r: ReflectMessage, path: number[], out: LargeField[], restore: (() => void)[]): void {
  for (const field of r.fields) {
    if (!r.isSet(field)) continue;
    if (field.fieldKind === "scalar" && field.scalar === ScalarType.BYTES) {
      const data = r.get(field) as Uint8Array;
      if (data.byteLength >= LARGE_BYTES) {
        out.push({ path: [...path, field.number], data });
        r.set(field, new Uint8Array(0));
        // Proto3 implicit presence: an empty bytes field is not written at all. With explicit presence
        // (optional / oneof member) it would be written as empty and then overwritten by the appended one.
        restore.push(() => r.set(field, data));
      }
    } else if (field.fieldKind === "message") {
      collectLarge(r.get(field) as ReflectMessage, [...path, field.number], out, restore);
    }
  }
}

function varint(n: number, out: number[]): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/** Tag + length prefixes of each message level down to a bytes field of `length` bytes. */
function pathHeader(path: number[], length: number): Uint8Array {
  let inner: number[] = [];
  let innerLength = length;
  for (let i = path.length - 1; i >= 0; i--) {
    const level: number[] = [];
    varint(path[i] * 8 + 2, level);
    varint(innerLength, level);
    inner = [...level, ...inner];
    innerLength = length + inner.length;
  }
  return Uint8Array.from(inner);
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
