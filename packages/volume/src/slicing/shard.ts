import { InvalidInput } from "@synthmri/core";
import type { SliceBatch } from "./slices.js";

// Shard format (little-endian):
//   "SMSL" magic | u32 version (1) | u32 JSON length L | L bytes UTF-8 JSON
//   | padding to a multiple of 8 | count*H*W*C bytes uint8 NHWC
// JSON: { height, width, channels, count, sliceIndex: number[], subject: string[], meta? }
// The JSON keeps the per-slice provenance (slice index, hashed subject id) next to the pixels,
// and the raw block can be viewed without copying.

const MAGIC = "SMSL";
export const SHARD_VERSION = 1;

export function encodeShard(batch: SliceBatch, meta?: Record<string, unknown>): Uint8Array {
  const json = Buffer.from(
    JSON.stringify({
      height: batch.height,
      width: batch.width,
      channels: batch.channels,
      count: batch.count,
      sliceIndex: batch.sliceIndex,
      subject: batch.subject,
      ...(meta ? { meta } : {}),
    }),
    "utf8",
  );
  const headLen = 12 + json.length;
  const dataOff = Math.ceil(headLen / 8) * 8;
  const out = new Uint8Array(dataOff + batch.data.length);
  out.set(Buffer.from(MAGIC, "latin1"), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, SHARD_VERSION, true);
  dv.setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(batch.data, dataOff);
  return out;
}

export function decodeShard(bytes: Uint8Array, name = "shard"): SliceBatch & { meta?: Record<string, unknown> } {
  if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 4)).toString("latin1") !== MAGIC) {
    throw new InvalidInput(`${name}: not a slice shard (missing "${MAGIC}" magic)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = dv.getUint32(4, true);
  if (version !== SHARD_VERSION)
    throw new InvalidInput(`${name}: shard version ${version}, this build reads ${SHARD_VERSION}`);
  const len = dv.getUint32(8, true);
  if (12 + len > bytes.length)
    throw new InvalidInput(`${name}: shard header of ${len} bytes overruns the ${bytes.length}-byte shard`);
  let h: SliceBatch & { meta?: Record<string, unknown> };
  try {
    h = JSON.parse(Buffer.from(bytes.subarray(12, 12 + len)).toString("utf8"));
  } catch (e) {
    throw new InvalidInput(`${name}: shard header is not valid JSON`, { cause: e });
  }
  const dataOff = Math.ceil((12 + len) / 8) * 8;
  const n = h.count * h.height * h.width * h.channels;
  if (dataOff + n !== bytes.length || h.sliceIndex.length !== h.count || h.subject.length !== h.count) {
    throw new InvalidInput(
      `${name}: shard holds ${bytes.length - dataOff} pixel bytes, header declares ${h.count}x${h.height}x${h.width}x${h.channels}`,
    );
  }
  return { ...h, data: bytes.subarray(dataOff, dataOff + n) };
}
