import zlib from "node:zlib";
import { InvalidInput } from "@synthmri/core";

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompress just enough of a gzip stream to read a header of `want` bytes, without trusting the
 * stream: a small compressed prefix can only expand by ~1000x, so the output stays bounded.
 */
export function gunzipPrefix(bytes: Uint8Array, want: number, name: string): Uint8Array {
  for (let prefix = 1024; ; prefix *= 4) {
    const slice = bytes.subarray(0, Math.min(bytes.length, prefix));
    let out: Buffer;
    try {
      out = zlib.gunzipSync(slice, {
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
        maxOutputLength: Math.max(want, 4 << 20),
      });
    } catch (e) {
      if (e instanceof RangeError) {
        // Output larger than our bound: we certainly have the header bytes we need.
        out = zlib.gunzipSync(slice.subarray(0, 256), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        if (out.length >= want) return out;
      }
      throw new InvalidInput(`${name}: not a readable gzip stream (${(e as Error).message})`, { cause: e });
    }
    if (out.length >= want || slice.length === bytes.length) return out;
  }
}

/**
 * Decompress the whole stream, refusing to produce more than `cap` bytes (a gzip bomb stops at
 * the cap instead of exhausting memory) and rejecting truncated streams.
 */
export function gunzipCapped(bytes: Uint8Array, cap: number, name: string): Buffer {
  try {
    // One output chunk of about the expected size: zlib's default 16 KiB chunks make node
    // concatenate thousands of pieces, which took longer than the inflate itself.
    const chunkSize = Math.max(64 * 1024, Math.min(cap, 64 << 20));
    return zlib.gunzipSync(bytes, { maxOutputLength: cap, chunkSize });
  } catch (e) {
    if (e instanceof RangeError || (e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new InvalidInput(
        `${name}: gzip stream decompresses to more than ${cap} bytes, far beyond the size its NIfTI header declares; refusing it (corrupt file or gzip bomb)`,
        { cause: e },
      );
    }
    const msg = (e as Error).message;
    throw new InvalidInput(`${name}: gzip stream is corrupt or truncated (${msg}); re-export or re-download the file`, {
      cause: e,
    });
  }
}
