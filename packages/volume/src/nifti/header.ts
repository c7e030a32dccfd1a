import { InvalidInput } from "@synthmri/core";
import * as niftijs from "nifti-reader-js";
import { DATATYPES, type DatatypeInfo } from "./datatypes.js";

export interface NiftiExtension {
  /** esize as stored in the file (includes its 8-byte esize/ecode prefix) */
  esize: number;
  ecode: number;
  data: Uint8Array;
}

/** Header fields as stored in the file (raw values, no interpretation). */
export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  sizeofHdr: number;
  magic: string;
  datatype: number;
  bitpix: number;
  dim: number[];
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  xyztUnits: number;
  intentCode: number;
  intentP: [number, number, number];
  intentName: string;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z */
  srow: number[][];
  descrip: string;
  auxFile: string;
  /** NIfTI-1 only (empty for NIfTI-2) */
  dbName: string;
  calMin: number;
  calMax: number;
  dimInfo: number;
  sliceCode: number;
  sliceStart: number;
  sliceEnd: number;
  sliceDuration: number;
  toffset: number;
  extensions: NiftiExtension[];
}

/** Largest voxel count we accept: beyond it the data cannot fit in one JS typed array anyway. */
export const MAX_VOXELS = 2 ** 31 - 1;
/** Largest image (bytes) we accept: node buffers stop at 4 GiB; no MRI volume comes close. */
export const MAX_IMAGE_BYTES = 2 ** 32 - 1;

function cString(bytes: Uint8Array, offset: number, length: number): string {
  // The raw header text up to the first NUL (what nibabel reports), latin1 so no byte is lost.
  let end = offset;
  while (end < offset + length && bytes[end] !== 0) end++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, end - offset).toString("latin1");
}

/** Which NIfTI version and byte order the first 4 bytes announce, or null. */
export function sniffNifti(bytes: Uint8Array): { version: 1 | 2; littleEndian: boolean } | null {
  if (bytes.length < 4) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 4);
  for (const le of [true, false]) {
    const s = dv.getInt32(0, le);
    if (s === 348) return { version: 1, littleEndian: le };
    if (s === 540) return { version: 2, littleEndian: le };
  }
  return null;
}

/**
 * Parse and validate a NIfTI header. `bytes` must hold at least the header (and the extensions,
 * when present, to read them). `totalBytes` is the length of the whole (decompressed) file when
 * known, to check that the image data fits.
 */
export function parseHeader(bytes: Uint8Array, name: string, totalBytes?: number): NiftiHeader {
  const sniff = sniffNifti(bytes);
  if (!sniff) {
    const dv = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4) : null;
    const le = dv ? dv.getUint32(0, true) : "n/a";
    const be = dv ? dv.getUint32(0, false) : "n/a";
    throw new InvalidInput(
      `${name}: not a NIfTI file: sizeof_hdr is ${le} (little-endian) / ${be} (big-endian), expected 348 (NIfTI-1) or 540 (NIfTI-2)`,
    );
  }
  const { version, littleEndian: le } = sniff;
  const hdrSize = version === 1 ? 348 : 540;
  if (bytes.length < hdrSize) {
    throw new InvalidInput(
      `${name}: file ends after ${bytes.length} bytes, inside the ${hdrSize}-byte NIfTI-${version} header`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const magicBytes = bytes.subarray(version === 1 ? 344 : 4, version === 1 ? 348 : 12);
  const magic = cString(magicBytes, 0, 4); // NIfTI-2 magic is "n+2\0" followed by \r\n\x1a\n
  const okMagic = version === 1 ? magic === "n+1" || magic === "ni1" : magic === "n+2" || magic === "ni2";
  if (!okMagic) {
    throw new InvalidInput(`${name}: bad NIfTI-${version} magic ${JSON.stringify(magic)} (expected "n+${version}")`);
  }
  if (magic.startsWith("ni")) {
    throw new InvalidInput(`${name}: is a .hdr/.img pair header (magic "${magic}"); convert it to a single .nii file`);
  }

  // nifti-reader-js decodes the numeric fields (both versions, both byte orders); we read the raw
  // strings, srow and the extension list ourselves because it trims/reinterprets them.
  // Hand it the header with the extension flag cleared: extensions are parsed below.
  const headOnly = new Uint8Array(hdrSize + 4);
  headOnly.set(bytes.subarray(0, hdrSize));
  const ab = headOnly.buffer;
  let h: ReturnType<typeof niftijs.readHeader>;
  try {
    h = niftijs.readHeader(ab);
  } catch (e) {
    throw new InvalidInput(`${name}: unreadable NIfTI header (${(e as Error).message})`, { cause: e });
  }
  const f32 = (o: number) => dv.getFloat32(o, le);
  const f64 = (o: number) => dv.getFloat64(o, le);
  const srow =
    version === 1
      ? [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f32(280 + 16 * r + 4 * c)))
      : [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f64(400 + 32 * r + 8 * c)));

  const dim = h.dims.slice(0, 8).map(Number);
  const header: NiftiHeader = {
    version,
    littleEndian: le,
    sizeofHdr: hdrSize,
    magic,
    datatype: h.datatypeCode,
    bitpix: h.numBitsPerVoxel,
    dim,
    pixdim: h.pixDims.slice(0, 8).map(Number),
    voxOffset: Number(h.vox_offset),
    sclSlope: h.scl_slope,
    sclInter: h.scl_inter,
    xyztUnits: h.xyzt_units,
    intentCode: h.intent_code,
    intentP: [h.intent_p1, h.intent_p2, h.intent_p3],
    intentName: cString(bytes, version === 1 ? 328 : 508, 16),
    qformCode: h.qform_code,
    sformCode: h.sform_code,
    quatern: [h.quatern_b, h.quatern_c, h.quatern_d],
    qoffset: [h.qoffset_x, h.qoffset_y, h.qoffset_z],
    srow,
    descrip: cString(bytes, version === 1 ? 148 : 240, 80),
    auxFile: cString(bytes, version === 1 ? 228 : 320, 24),
    dbName: version === 1 ? cString(bytes, 14, 18) : "",
    calMin: h.cal_min,
    calMax: h.cal_max,
    dimInfo: h.dim_info,
    sliceCode: h.slice_code,
    sliceStart: Number(h.slice_start),
    sliceEnd: Number(h.slice_end),
    sliceDuration: h.slice_duration,
    toffset: h.toffset,
    extensions: [],
  };
  validateGeometry(header, name);
  header.extensions = readExtensions(bytes, header, name, totalBytes !== undefined);
  if (totalBytes !== undefined) {
    const need = header.voxOffset + imageBytes(header);
    if (need > totalBytes) {
      throw new InvalidInput(
        `${name}: image data needs bytes ${header.voxOffset}..${need} (vox_offset ${header.voxOffset} + ${imageBytes(header)} bytes of ${datatypeOf(header, name).name}) but the file has only ${totalBytes} bytes (truncated, or vox_offset is wrong)`,
      );
    }
  }
  return header;
}

export function datatypeOf(header: NiftiHeader, name: string): DatatypeInfo {
  const dt = DATATYPES.get(header.datatype);
  if (!dt) {
    throw new InvalidInput(
      `${name}: unsupported NIfTI datatype ${header.datatype} (supported: uint8, int8, int16, uint16, int32, uint32, float32, float64, complex64, RGB24)`,
    );
  }
  return dt;
}

/** Number of voxels (product of dim[1..dim[0]]). */
export function voxelCount(header: NiftiHeader): number {
  let n = 1;
  for (let i = 1; i <= header.dim[0]; i++) n *= header.dim[i];
  return n;
}

export function imageBytes(header: NiftiHeader): number {
  return voxelCount(header) * (DATATYPES.get(header.datatype)?.bytes ?? 0);
}

function validateGeometry(h: NiftiHeader, name: string): void {
  const nd = h.dim[0];
  if (!Number.isInteger(nd) || nd < 1 || nd > 7) {
    throw new InvalidInput(`${name}: dim[0] is ${nd}; a NIfTI image has 1 to 7 dimensions`);
  }
  let n = 1;
  for (let i = 1; i <= nd; i++) {
    const d = h.dim[i];
    if (!Number.isSafeInteger(d) || d <= 0) {
      throw new InvalidInput(`${name}: dim[${i}] is ${d}; every dimension must be a positive integer`);
    }
    n *= d;
    if (n > MAX_VOXELS) {
      throw new InvalidInput(
        `${name}: dimensions ${h.dim.slice(1, nd + 1).join("x")} give more than ${MAX_VOXELS} voxels (dimension product overflow); refusing it`,
      );
    }
  }
  const dt = datatypeOf(h, name);
  if (n * dt.bytes > MAX_IMAGE_BYTES) {
    throw new InvalidInput(
      `${name}: image of ${n} ${dt.name} voxels needs ${n * dt.bytes} bytes, over the ${MAX_IMAGE_BYTES}-byte limit`,
    );
  }
  if (h.bitpix !== dt.bytes * 8) {
    throw new InvalidInput(`${name}: bitpix ${h.bitpix} does not match datatype ${dt.name} (${dt.bytes * 8} bits)`);
  }
  if (!Number.isFinite(h.voxOffset) || h.voxOffset < h.sizeofHdr) {
    throw new InvalidInput(`${name}: vox_offset ${h.voxOffset} lies inside the ${h.sizeofHdr}-byte header`);
  }
}

/**
 * Header extensions as nibabel reads them (Nifti1Extensions.from_fileobj): starting after the 4-byte
 * extender, read (esize, ecode, content) while at least 16 bytes remain before vox_offset. An extension may
 * end exactly at vox_offset (official BraTS 2023 files: an AFNI extension) or even run past it; only an
 * esize below 8 or past the end of the file is an error. On a prefix of the file (the header pre-parse of a
 * .nii.gz) extensions that are not all there yet are left for the full parse.
 */
function readExtensions(bytes: Uint8Array, h: NiftiHeader, name: string, complete: boolean): NiftiExtension[] {
  const out: NiftiExtension[] = [];
  const flagAt = h.sizeofHdr;
  if (bytes.length < flagAt + 4 || bytes[flagAt] === 0) return out;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let off = flagAt + 4;
  let remaining = h.voxOffset - off;
  while (remaining >= 16) {
    if (off + 8 > bytes.length) {
      if (!complete) return out;
      throw new InvalidInput(`${name}: file ends inside the header extension at byte ${off}`);
    }
    const esize = dv.getInt32(off, h.littleEndian);
    const ecode = dv.getInt32(off + 4, h.littleEndian);
    if (esize < 8) {
      throw new InvalidInput(`${name}: header extension at byte ${off} has esize ${esize}; it must be at least 8`);
    }
    if (off + esize > bytes.length) {
      if (!complete) return out;
      throw new InvalidInput(
        `${name}: header extension at byte ${off} has esize ${esize}, which runs past the end of the file (${bytes.length} bytes)`,
      );
    }
    out.push({ esize, ecode, data: bytes.slice(off + 8, off + esize) });
    off += esize;
    remaining -= esize;
  }
  return out;
}
