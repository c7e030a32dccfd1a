// A minimal POSIX ustar writer/reader for the bundle archive (regular files only, names < 100 bytes). The NIfTI
// files are already gzip-compressed, so the archive itself is a plain .tar; the partner unpacks it with any tar.
import { InvalidInput } from "@synthmri/platform";

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(name: string, size: number, mtime: number): Buffer {
  if (Buffer.byteLength(name) >= 100) throw new InvalidInput(`archive entry name "${name}" is too long (>= 100 bytes)`);
  const h = Buffer.alloc(512);
  h.write(name, 0, "utf8");
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(mtime, 12), 136);
  h.fill(" ", 148, 156);
  h.write("0", 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return h;
}

/** The archive's bytes (entries in order, then two zero blocks). */
export function writeTar(entries: TarEntry[], mtime = Math.floor(Date.now() / 1000)): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e.name, e.data.length, mtime), Buffer.from(e.data.buffer, e.data.byteOffset, e.data.length));
    const pad = (512 - (e.data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Entries of a ustar archive written by writeTar (or any tar of regular files). */
export function* readTar(bytes: Uint8Array): Generator<TarEntry> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let pos = 0;
  while (pos + 512 <= buf.length) {
    const h = buf.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) return;
    const name = h.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const prefix = h.subarray(345, 500).toString("utf8").replace(/\0.*$/s, "");
    const size = Number.parseInt(h.subarray(124, 136).toString("latin1").replace(/[\0 ]/g, "") || "0", 8);
    const type = String.fromCharCode(h[156] || 48);
    pos += 512;
    if (!Number.isFinite(size) || pos + size > buf.length) throw new InvalidInput("archive is truncated or corrupt");
    if (type === "0") yield { name: prefix ? `${prefix}/${name}` : name, data: buf.subarray(pos, pos + size) };
    pos += size + ((512 - (size % 512)) % 512);
  }
}
