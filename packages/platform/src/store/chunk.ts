// Splits a byte stream into fixed-size parts so a multipart upload holds at most ~2 parts in memory,
// whatever the stream's total length (the minio client would otherwise pick 500+ MiB parts for streams of
// unknown size).
import { Readable } from "node:stream";
import type { PutBody } from "./object-store.js";

export function toAsyncIterable(body: PutBody): AsyncIterable<Uint8Array> {
  if (typeof body === "string") return Readable.from([Buffer.from(body)]);
  if (body instanceof Uint8Array) return Readable.from([body]);
  return body;
}

export async function* chunked(source: AsyncIterable<Uint8Array | string>, partSize: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const raw of source) {
    let chunk = typeof raw === "string" ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    while (pendingBytes + chunk.length >= partSize) {
      const take = partSize - pendingBytes;
      pending.push(chunk.subarray(0, take));
      // Copy once per part: the parts outlive the source's chunks.
      yield Buffer.concat(pending, partSize);
      chunk = chunk.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (chunk.length > 0) {
      pending.push(Buffer.from(chunk));
      pendingBytes += chunk.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
