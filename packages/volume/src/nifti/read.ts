import { InvalidInput } from "@synthmri/core";
import { baseAffine, type Mat4, qformAffine, sformAffine, voxelSizes } from "./affine.js";
import type { DatatypeInfo, StoredArray } from "./datatypes.js";
import { gunzipCapped, gunzipPrefix, isGzip } from "./gunzip.js";
import { datatypeOf, imageBytes, type NiftiHeader, parseHeader } from "./header.js";

export type AffineSource = "sform" | "qform" | "fallback";

export interface NiftiVolume {
  /** the name used in error messages (usually the file name) */
  name: string;
  header: NiftiHeader;
  /** dim[1..dim[0]] */
  shape: number[];
  datatype: DatatypeInfo;
  /** voxel -> world (RAS+ mm): sform if sform_code > 0, else qform if qform_code > 0, else nibabel's base affine */
  affine: Mat4;
  affineSource: AffineSource;
  /** column norms of the affine's 3x3 part */
  spacing: number[];
  /** stored values in native byte order, x fastest (Fortran order); complex and RGB interleaved */
  data: StoredArray;
  /** effective scaling after the nibabel rule (slope 0 or non-finite = no scaling) */
  slope: number;
  inter: number;
  /** data * slope + inter: Float64Array for 32/64-bit stored types, Float32Array otherwise */
  scaled(): Float32Array | Float64Array;
}

/** Extra decompressed bytes tolerated beyond vox_offset + image bytes (some writers pad). */
export const GZIP_SLACK_BYTES = 1 << 20;

export function effectiveScaling(header: NiftiHeader): { slope: number; inter: number } {
  const s = header.sclSlope;
  if (s === 0 || !Number.isFinite(s)) return { slope: 1, inter: 0 };
  return { slope: s, inter: Number.isFinite(header.sclInter) ? header.sclInter : 0 };
}

/**
 * Decode a NIfTI-1/-2 file (.nii or .nii.gz bytes). `name` names the file in every error.
 * Throws InvalidInput for anything that is not a complete, sane NIfTI image.
 */
export function readNifti(bytes: Uint8Array, name = "input"): NiftiVolume {
  let raw: Uint8Array;
  let header: NiftiHeader;
  if (isGzip(bytes)) {
    const head = gunzipPrefix(bytes, 544, name);
    // Parse the header alone first, so the full decompression can be capped at the declared size.
    const pre = parseHeader(head, name);
    const cap = pre.voxOffset + imageBytes(pre) + GZIP_SLACK_BYTES;
    raw = gunzipCapped(bytes, cap, name);
  } else {
    raw = bytes;
  }
  header = parseHeader(raw, name, raw.length);
  const datatype = datatypeOf(header, name);
  const shape = header.dim.slice(1, header.dim[0] + 1);
  const nvox = shape.reduce((a, b) => a * b, 1);
  const data = decodeData(raw, header, datatype, nvox);

  let affine: Mat4;
  let affineSource: AffineSource;
  if (header.sformCode > 0) {
    affine = sformAffine(header.srow);
    affineSource = "sform";
  } else if (header.qformCode > 0) {
    affine = qformAffine(header.quatern, header.qoffset, header.pixdim);
    affineSource = "qform";
  } else {
    affine = baseAffine(shape, header.pixdim);
    affineSource = "fallback";
  }
  if (affine.some((row) => row.some((v) => !Number.isFinite(v)))) {
    throw new InvalidInput(`${name}: the ${affineSource} affine has non-finite values`);
  }
  const { slope, inter } = effectiveScaling(header);
  return {
    name,
    header,
    shape,
    datatype,
    affine,
    affineSource,
    spacing: voxelSizes(affine),
    data,
    slope,
    inter,
    scaled: () => scaleData(data, datatype, slope, inter),
  };
}

function decodeData(raw: Uint8Array, h: NiftiHeader, dt: DatatypeInfo, nvox: number): StoredArray {
  const count = nvox * dt.parts;
  const start = raw.byteOffset + h.voxOffset;
  const nbytes = count * dt.scalarBytes;
  const nativeLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const swap = dt.scalarBytes > 1 && h.littleEndian !== nativeLE;
  if (!swap && start % dt.scalarBytes === 0) {
    return dt.make(raw.buffer as ArrayBuffer, start, count);
  }
  // Unaligned or foreign byte order: copy (and swap) into a fresh buffer.
  const copy = new Uint8Array(nbytes);
  copy.set(raw.subarray(h.voxOffset, h.voxOffset + nbytes));
  if (swap) {
    const w = dt.scalarBytes;
    for (let i = 0; i < nbytes; i += w) {
      for (let a = i, b = i + w - 1; a < b; a++, b--) {
        const t = copy[a];
        copy[a] = copy[b];
        copy[b] = t;
      }
    }
  }
  return dt.make(copy.buffer, 0, count);
}

function scaleData(data: StoredArray, dt: DatatypeInfo, slope: number, inter: number): Float32Array | Float64Array {
  const wide = dt.scalarBytes >= 4 && dt.name !== "float32" && dt.name !== "complex64";
  const out = wide ? new Float64Array(data.length) : new Float32Array(data.length);
  // TypedArray.set converts in native code; a JS loop over the StoredArray union is megamorphic.
  out.set(data);
  if (slope === 1 && inter === 0) return out;
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = out[i] * slope + inter;
  return out;
}
