// Byte form of a training checkpoint: one self-describing buffer (magic, JSON header, float32 blob), so the
// object store sees a single object and a partial write is detected on load. Every named array (weights,
// Adam moments) goes to the blob; everything else (config, Rng state, growth, counters) to the header.
import { InvalidInput } from "@synthmri/core";
import type { GanState } from "./model.js";
import type { NamedArray } from "../layers/tensor-blob.js";

const MAGIC = "SYNTHMRI-GAN-CKPT-1\n";

export interface TrainerState {
  /** Real images consumed so far (kimg = images / 1000). */
  images: number;
  /** Rng of the trainer (batch order). */
  rng: { s: [number, number, number, number]; spare: number | null };
  /** Wall-clock seconds trained before this checkpoint (for rates across restarts). */
  seconds: number;
}

export interface GanCheckpoint {
  model: GanState;
  trainer: TrainerState;
}

/** Where a checkpoint goes. The generator service backs it with the object store. */
export interface CheckpointStore {
  save(state: Uint8Array): Promise<void> | void;
  /** The latest saved checkpoint, or undefined when there is none. */
  load(): Promise<Uint8Array | undefined> | Uint8Array | undefined;
}

interface ArrayRef {
  $array: { shape: number[]; offset: number; length: number };
}

export function encodeCheckpoint(ckpt: GanCheckpoint): Uint8Array {
  const chunks: Float32Array[] = [];
  let offset = 0;
  const header = JSON.stringify(ckpt, (_k, v) => {
    if (v && typeof v === "object" && v.data instanceof Float32Array && Array.isArray(v.shape)) {
      const a = v as NamedArray;
      const ref: ArrayRef & { name: string } = {
        name: a.name,
        $array: { shape: a.shape, offset, length: a.data.length },
      };
      chunks.push(a.data);
      offset += a.data.length;
      return ref;
    }
    return v;
  });
  const headerBytes = new TextEncoder().encode(header);
  const magic = new TextEncoder().encode(MAGIC);
  const pre = magic.length + 8 + headerBytes.length;
  const pad = (4 - (pre % 4)) % 4;
  const out = new Uint8Array(pre + pad + offset * 4);
  out.set(magic, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(magic.length, headerBytes.length, true);
  dv.setUint32(magic.length + 4, offset, true);
  out.set(headerBytes, magic.length + 8);
  let pos = pre + pad;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) dv.setFloat32(pos + i * 4, c[i], true);
    pos += c.length * 4;
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): GanCheckpoint {
  const magic = new TextEncoder().encode(MAGIC);
  const head = new TextDecoder().decode(bytes.subarray(0, magic.length));
  if (head !== MAGIC)
    throw new InvalidInput("not a synthmri GAN checkpoint (bad magic); was it written by this version?");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = dv.getUint32(magic.length, true);
  const floats = dv.getUint32(magic.length + 4, true);
  const pre = magic.length + 8 + headerLen;
  const start = pre + ((4 - (pre % 4)) % 4);
  if (bytes.byteLength !== start + floats * 4) {
    throw new InvalidInput(
      `GAN checkpoint is ${bytes.byteLength} bytes, its header promises ${start + floats * 4}: truncated or corrupt`,
    );
  }
  const all = new Float32Array(floats);
  for (let i = 0; i < floats; i++) all[i] = dv.getFloat32(start + i * 4, true);
  const header = new TextDecoder().decode(bytes.subarray(magic.length + 8, pre));
  return JSON.parse(header, (_k, v) => {
    if (v && typeof v === "object" && v.$array) {
      const r = (v as ArrayRef).$array;
      return { name: v.name, shape: r.shape, data: all.slice(r.offset, r.offset + r.length) };
    }
    return v;
  }) as GanCheckpoint;
}
