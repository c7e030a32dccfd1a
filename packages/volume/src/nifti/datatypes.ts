// NIfTI datatype codes we read and write, with the typed array that holds the stored values.
// complex64 is stored as interleaved float32 (re, im); RGB24 as interleaved uint8 (r, g, b).

export type StoredArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

export interface DatatypeInfo {
  code: number;
  name: string;
  /** bytes per voxel */
  bytes: number;
  /** values per voxel (2 for complex, 3 for RGB) */
  parts: number;
  /** bytes of one stored scalar (for byte swapping) */
  scalarBytes: number;
  make(buffer: ArrayBuffer, byteOffset: number, length: number): StoredArray;
  integer: boolean;
}

function info(
  code: number,
  name: string,
  scalarBytes: number,
  parts: number,
  ctor: { new (b: ArrayBuffer, o: number, l: number): StoredArray },
  integer: boolean,
): DatatypeInfo {
  return {
    code,
    name,
    bytes: scalarBytes * parts,
    parts,
    scalarBytes,
    make: (b, o, l) => new ctor(b, o, l),
    integer,
  };
}

export const DATATYPES: ReadonlyMap<number, DatatypeInfo> = new Map(
  [
    info(2, "uint8", 1, 1, Uint8Array, true),
    info(4, "int16", 2, 1, Int16Array, true),
    info(8, "int32", 4, 1, Int32Array, true),
    info(16, "float32", 4, 1, Float32Array, false),
    info(32, "complex64", 4, 2, Float32Array, false),
    info(64, "float64", 8, 1, Float64Array, false),
    info(128, "RGB", 1, 3, Uint8Array, true),
    info(256, "int8", 1, 1, Int8Array, true),
    info(512, "uint16", 2, 1, Uint16Array, true),
    info(768, "uint32", 4, 1, Uint32Array, true),
  ].map((d) => [d.code, d]),
);

export const DATATYPE_CODES = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  complex64: 32,
  float64: 64,
  rgb24: 128,
  int8: 256,
  uint16: 512,
  uint32: 768,
} as const;

export function datatypeFor(array: StoredArray): number {
  if (array instanceof Uint8Array) return 2;
  if (array instanceof Int8Array) return 256;
  if (array instanceof Int16Array) return 4;
  if (array instanceof Uint16Array) return 512;
  if (array instanceof Int32Array) return 8;
  if (array instanceof Uint32Array) return 768;
  if (array instanceof Float32Array) return 16;
  return 64;
}
