// Tensors over gRPC streams: a TensorHeader frame, then TensorChunk frames of at most 1 MiB.
// Sending slices views of the source (no copy); receiving copies each chunk once into one fresh, aligned buffer.
import { create } from "@bufbuild/protobuf";
import { DataType, type TensorFrame, TensorFrameSchema, type TensorHeader } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";

export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** TensorHeader.total_bytes is a uint32. */
const MAX_TENSOR_BYTES_ON_WIRE = 0xffffffff;
/** Largest tensor a receiver accepts unless told otherwise (a header cannot make it allocate more). */
export const DEFAULT_MAX_TENSOR_BYTES = 2 * 1024 * 1024 * 1024;

const bytesPerElement: Record<DataType, number> = {
  [DataType.UNSPECIFIED]: 0,
  [DataType.FLOAT32]: 4,
  [DataType.FLOAT64]: 8,
  [DataType.INT8]: 1,
  [DataType.UINT8]: 1,
  [DataType.INT16]: 2,
  [DataType.UINT16]: 2,
  [DataType.INT32]: 4,
  [DataType.UINT32]: 4,
  [DataType.INT64]: 8,
  [DataType.BOOL]: 1,
};

export function dtypeSize(dtype: DataType): number {
  const n = bytesPerElement[dtype];
  if (!n) throw new InvalidInput(`tensor dtype ${DataType[dtype] ?? dtype} is not supported`);
  return n;
}

/** A tensor to send: any typed array (or byte view) plus dtype and shape. */
export interface TensorLike {
  dtype: DataType;
  shape: readonly number[];
  data: ArrayBufferView;
  name?: string;
  index?: number;
  attributes?: Record<string, string>;
}

/** A received tensor: `bytes` is a fresh, 8-byte-aligned buffer of exactly total_bytes. */
export interface ReceivedTensor {
  header: TensorHeader;
  dtype: DataType;
  shape: number[];
  name: string;
  index: number;
  bytes: Uint8Array;
}

function expectedBytes(dtype: DataType, shape: readonly number[]): number {
  let n = dtypeSize(dtype);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new InvalidInput(`tensor shape [${shape.join(", ")}] has an invalid dimension`);
    n *= d;
  }
  return n;
}

/** Frames of one tensor (synchronous; chunks are views of tensor.data, nothing is copied). */
export function* tensorFrames(tensor: TensorLike, chunkBytes = DEFAULT_CHUNK_BYTES): Generator<TensorFrame> {
  if (chunkBytes <= 0 || chunkBytes > DEFAULT_CHUNK_BYTES * 4) {
    throw new InvalidInput(`chunkBytes must be in 1..${DEFAULT_CHUNK_BYTES * 4}, got ${chunkBytes}`);
  }
  const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const total = expectedBytes(tensor.dtype, tensor.shape);
  if (total > MAX_TENSOR_BYTES_ON_WIRE) {
    throw new InvalidInput(`tensor of ${total} bytes is too large for one stream tensor; send it as several tensors`);
  }
  if (total !== bytes.byteLength) {
    throw new InvalidInput(
      `tensor data has ${bytes.byteLength} bytes but dtype ${DataType[tensor.dtype]} and shape [${tensor.shape.join(", ")}] need ${total}`,
    );
  }
  yield create(TensorFrameSchema, {
    frame: {
      case: "header",
      value: {
        dtype: tensor.dtype,
        shape: [...tensor.shape],
        totalBytes: total,
        name: tensor.name ?? "",
        index: tensor.index ?? 0,
        attributes: tensor.attributes ?? {},
      },
    },
  });
  for (let offset = 0; offset < total; offset += chunkBytes) {
    yield create(TensorFrameSchema, {
      frame: { case: "chunk", value: { offset, data: bytes.subarray(offset, Math.min(total, offset + chunkBytes)) } },
    });
  }
}

/** Frames of a tensor as an async iterable (what streaming handlers and clients take). */
export async function* sendTensor(tensor: TensorLike, chunkBytes = DEFAULT_CHUNK_BYTES): AsyncGenerator<TensorFrame> {
  yield* tensorFrames(tensor, chunkBytes);
}

export interface ReceiveOptions {
  /** Refuse tensors larger than this (default 2 GiB). */
  maxBytes?: number;
}

type FrameSource<T> = AsyncIterable<T> | Iterable<T>;

/**
 * Reassembles every tensor of a stream, in order. `pick` extracts the frame from a wrapping message (e.g.
 * `(r) => r.frame` for StreamSlicesResponse); messages without a frame are skipped.
 * Malformed streams (chunk before header, wrong offsets, too many or too few bytes) throw InvalidInput.
 */
export async function* receiveTensors<T = TensorFrame>(
  source: FrameSource<T>,
  pick: (msg: T) => TensorFrame | undefined = (m) => m as unknown as TensorFrame,
  options: ReceiveOptions = {},
): AsyncGenerator<ReceivedTensor> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_TENSOR_BYTES;
  let current: { header: TensorHeader; bytes: Uint8Array; filled: number } | undefined;
  const finish = (): ReceivedTensor => {
    const c = current!;
    current = undefined;
    return {
      header: c.header,
      dtype: c.header.dtype,
      shape: [...c.header.shape],
      name: c.header.name,
      index: c.header.index,
      bytes: c.bytes,
    };
  };
  for await (const msg of source as AsyncIterable<T>) {
    const frame = pick(msg);
    if (!frame) continue;
    const f = frame.frame;
    if (f.case === "header") {
      if (current) {
        throw new InvalidInput(
          `tensor stream: a new header arrived after ${current.filled} of ${current.header.totalBytes} bytes of the previous tensor`,
        );
      }
      const total = expectedBytes(f.value.dtype, f.value.shape);
      if (total !== f.value.totalBytes) {
        throw new InvalidInput(
          `tensor header says ${f.value.totalBytes} bytes but dtype ${DataType[f.value.dtype]} and shape [${f.value.shape.join(", ")}] need ${total}`,
        );
      }
      if (total > maxBytes) throw new InvalidInput(`tensor of ${total} bytes exceeds the limit of ${maxBytes} bytes`);
      // A fresh ArrayBuffer is aligned for every typed array; each chunk is copied into it exactly once.
      current = { header: f.value, bytes: new Uint8Array(total), filled: 0 };
      if (total === 0) yield finish();
    } else if (f.case === "chunk") {
      if (!current) throw new InvalidInput("tensor stream: a data chunk arrived before any header");
      const { offset, data } = f.value;
      if (offset !== current.filled) {
        throw new InvalidInput(`tensor stream: chunk at offset ${offset}, expected ${current.filled}`);
      }
      if (current.filled + data.byteLength > current.bytes.byteLength) {
        throw new InvalidInput(
          `tensor stream: chunks exceed the announced ${current.bytes.byteLength} bytes (got ${current.filled + data.byteLength})`,
        );
      }
      current.bytes.set(data, current.filled);
      current.filled += data.byteLength;
      if (current.filled === current.bytes.byteLength) yield finish();
    }
  }
  if (current) {
    throw new InvalidInput(
      `tensor stream ended after ${current.filled} of ${current.bytes.byteLength} bytes of tensor "${current.header.name}"`,
    );
  }
}

/** Reassembles the single tensor of a stream (InvalidInput when there is none or more than one). */
export async function receiveTensor<T = TensorFrame>(
  source: FrameSource<T>,
  pick?: (msg: T) => TensorFrame | undefined,
  options?: ReceiveOptions,
): Promise<ReceivedTensor> {
  let found: ReceivedTensor | undefined;
  for await (const t of receiveTensors(source, pick, options)) {
    if (found) throw new InvalidInput("tensor stream carries more than one tensor; use receiveTensors");
    found = t;
  }
  if (!found) throw new InvalidInput("tensor stream ended without any tensor");
  return found;
}

/** A typed-array view of a received tensor's bytes (aligned, so no copy). */
export function typedArrayOf(t: Pick<ReceivedTensor, "dtype" | "bytes">) {
  const { buffer, byteOffset, byteLength } = t.bytes;
  switch (t.dtype) {
    case DataType.FLOAT32:
      return new Float32Array(buffer, byteOffset, byteLength / 4);
    case DataType.FLOAT64:
      return new Float64Array(buffer, byteOffset, byteLength / 8);
    case DataType.INT8:
      return new Int8Array(buffer, byteOffset, byteLength);
    case DataType.UINT8:
    case DataType.BOOL:
      return new Uint8Array(buffer, byteOffset, byteLength);
    case DataType.INT16:
      return new Int16Array(buffer, byteOffset, byteLength / 2);
    case DataType.UINT16:
      return new Uint16Array(buffer, byteOffset, byteLength / 2);
    case DataType.INT32:
      return new Int32Array(buffer, byteOffset, byteLength / 4);
    case DataType.UINT32:
      return new Uint32Array(buffer, byteOffset, byteLength / 4);
    case DataType.INT64:
      return new BigInt64Array(buffer, byteOffset, byteLength / 8);
    default:
      throw new InvalidInput(`tensor dtype ${DataType[t.dtype] ?? t.dtype} is not supported`);
  }
}
