import zlib from "node:zlib";
import { InvalidInput } from "@synthmri/core";
import { affineToQuatern, type Mat4, voxelSizes } from "./affine.js";
import { DATATYPES, datatypeFor, type StoredArray } from "./datatypes.js";
import type { NiftiExtension } from "./header.js";

export interface WriteNiftiInput {
  /** dims (1-7), x fastest */
  shape: number[];
  /** stored values in native order; complex64/RGB interleaved (then pass `datatype`) */
  data: StoredArray;
  /** voxel -> world (RAS+ mm) */
  affine: Mat4;
  /** NIfTI datatype code; default inferred from the array type */
  datatype?: number;
  /** spacing of axes 4..7 (e.g. TR); default 1 */
  extraPixdim?: number[];
  /** NIFTI_XFORM codes; default 1 (scanner) for both */
  qformCode?: number;
  sformCode?: number;
  /** xyzt_units; default 10 (mm + s) */
  xyztUnits?: number;
  sclSlope?: number;
  sclInter?: number;
  calMin?: number;
  calMax?: number;
  intentCode?: number;
  intentName?: string;
  descrip?: string;
  auxFile?: string;
  extensions?: Pick<NiftiExtension, "ecode" | "data">[];
  /** default true: .nii.gz bytes; false: plain .nii */
  gzip?: boolean;
  /** zlib level, default 6 (the size/speed balance most tools use) */
  level?: number;
}

function putString(bytes: Uint8Array, offset: number, max: number, s: string): void {
  const b = Buffer.from(s, "latin1");
  bytes.set(b.subarray(0, max - 1), offset);
}

/** Encode a NIfTI-1 single file (little-endian). Affine goes into the sform exactly (float32) and the qform as its rotation part. */
export function writeNifti(input: WriteNiftiInput): Uint8Array {
  const { shape, data, affine } = input;
  if (shape.length < 1 || shape.length > 7 || shape.some((d) => !Number.isInteger(d) || d < 1 || d > 32767)) {
    throw new InvalidInput(
      `writeNifti: shape ${JSON.stringify(shape)} must have 1-7 positive integer dims <= 32767 (NIfTI-1)`,
    );
  }
  const code = input.datatype ?? datatypeFor(data);
  const dt = DATATYPES.get(code);
  if (!dt) throw new InvalidInput(`writeNifti: unsupported datatype code ${code}`);
  const nvox = shape.reduce((a, b) => a * b, 1);
  if (data.length !== nvox * dt.parts) {
    throw new InvalidInput(
      `writeNifti: data has ${data.length} values, shape ${shape.join("x")} of ${dt.name} needs ${nvox * dt.parts}`,
    );
  }
  const exts = (input.extensions ?? []).map((e) => ({
    ecode: e.ecode,
    data: e.data,
    esize: Math.ceil((e.data.length + 8) / 16) * 16,
  }));
  const voxOffset = 352 + exts.reduce((s, e) => s + e.esize, 0);
  const nbytes = nvox * dt.bytes;
  const out = new Uint8Array(voxOffset + nbytes);
  const dv = new DataView(out.buffer);
  const le = true;
  dv.setInt32(0, 348, le);
  out[38] = "r".charCodeAt(0); // regular = 'r', as most writers do
  dv.setInt16(40, shape.length, le);
  for (let i = 0; i < 7; i++) dv.setInt16(42 + 2 * i, shape[i] ?? 1, le);
  dv.setInt16(68, input.intentCode ?? 0, le);
  dv.setInt16(70, code, le);
  dv.setInt16(72, dt.bytes * 8, le);
  const q = affineToQuatern(affine);
  const z = voxelSizes(affine);
  const pix = [q.qfac, z[0], z[1], z[2], ...(input.extraPixdim ?? [])];
  for (let i = 0; i < 8; i++) dv.setFloat32(76 + 4 * i, pix[i] ?? (i < 4 ? 1 : i <= shape.length ? 1 : 0), le);
  dv.setFloat32(108, voxOffset, le);
  dv.setFloat32(112, input.sclSlope ?? 1, le);
  dv.setFloat32(116, input.sclInter ?? 0, le);
  out[123] = input.xyztUnits ?? 10;
  dv.setFloat32(124, input.calMax ?? 0, le);
  dv.setFloat32(128, input.calMin ?? 0, le);
  putString(out, 148, 80, input.descrip ?? "");
  putString(out, 228, 24, input.auxFile ?? "");
  dv.setInt16(252, input.qformCode ?? 1, le);
  dv.setInt16(254, input.sformCode ?? 1, le);
  for (let i = 0; i < 3; i++) {
    dv.setFloat32(256 + 4 * i, q.quatern[i], le);
    dv.setFloat32(268 + 4 * i, q.qoffset[i], le);
  }
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) dv.setFloat32(280 + 16 * r + 4 * c, affine[r][c], le);
  putString(out, 328, 16, input.intentName ?? "");
  putString(out, 344, 4, "n+1");
  let off = 348;
  out[off] = exts.length > 0 ? 1 : 0;
  off += 4;
  for (const e of exts) {
    dv.setInt32(off, e.esize, le);
    dv.setInt32(off + 4, e.ecode, le);
    out.set(e.data, off + 8);
    off += e.esize;
  }
  const nativeLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const src = new Uint8Array(data.buffer, data.byteOffset, nbytes);
  out.set(src, voxOffset);
  if (!nativeLE && dt.scalarBytes > 1) {
    const w = dt.scalarBytes;
    for (let i = voxOffset; i < out.length; i += w) out.subarray(i, i + w).reverse();
  }
  return input.gzip === false ? out : new Uint8Array(zlib.gzipSync(out, { level: input.level ?? 6 }));
}
