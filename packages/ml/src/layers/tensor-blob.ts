// Many named float32 tensors <-> one little-endian float32 blob plus a JSON-able index. Used for model
// weights (ParamStore) and optimizer state, so a checkpoint is two objects: index.json and weights.bin.
import { InvalidInput } from "@synthmri/core";

export interface BlobEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements (not bytes) from the start of the blob. */
  offset: number;
  length: number;
}

export interface BlobIndex {
  format: "synthmri-f32le";
  version: 1;
  entries: BlobEntry[];
}

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function encodeBlob(items: NamedArray[]): { index: BlobIndex; data: Uint8Array } {
  let total = 0;
  const entries: BlobEntry[] = [];
  for (const it of items) {
    const length = it.shape.reduce((a, b) => a * b, 1);
    if (length !== it.data.length) {
      throw new InvalidInput(`tensor ${it.name}: shape [${it.shape}] needs ${length} values, got ${it.data.length}`);
    }
    entries.push({ name: it.name, shape: [...it.shape], offset: total, length });
    total += length;
  }
  const out = new Float32Array(total);
  for (let i = 0; i < items.length; i++) out.set(items[i].data, entries[i].offset);
  const data = new Uint8Array(out.buffer);
  if (!littleEndian) swap32(data);
  return { index: { format: "synthmri-f32le", version: 1, entries }, data };
}

export function decodeBlob(index: BlobIndex, data: Uint8Array): NamedArray[] {
  if (index?.format !== "synthmri-f32le" || index.version !== 1 || !Array.isArray(index.entries)) {
    throw new InvalidInput("weights index is not a synthmri-f32le v1 index");
  }
  if (data.byteLength % 4 !== 0)
    throw new InvalidInput(`weights blob has ${data.byteLength} bytes, not a multiple of 4`);
  // Copy once into an aligned buffer (the input may be an unaligned view of a network buffer).
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(data);
  if (!littleEndian) swap32(bytes);
  const all = new Float32Array(bytes.buffer);
  return index.entries.map((e) => {
    if (e.offset < 0 || e.offset + e.length > all.length) {
      throw new InvalidInput(
        `weights entry ${e.name} [${e.offset}, +${e.length}) lies outside a blob of ${all.length} floats`,
      );
    }
    return { name: e.name, shape: [...e.shape], data: all.subarray(e.offset, e.offset + e.length) };
  });
}

function swap32(b: Uint8Array): void {
  for (let i = 0; i < b.length; i += 4) {
    const a0 = b[i];
    const a1 = b[i + 1];
    b[i] = b[i + 3];
    b[i + 1] = b[i + 2];
    b[i + 2] = a1;
    b[i + 3] = a0;
  }
}
