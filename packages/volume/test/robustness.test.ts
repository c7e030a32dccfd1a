// Files that decode but must not pass silently, and real-world headers the reader must accept (issue 17.5/17.6).
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  generatePhantomSubject,
  type LoadedFile,
  niftiInfo,
  phantomSubjectFiles,
  readNifti,
  validateSubject,
  writeNifti,
} from "../src/index.js";

const AFFINE = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];
const SHAPE = [6, 5, 4];
const DATA = Float32Array.from({ length: 120 }, (_, i) => i * 0.5);

/** A .nii(.gz) with one header extension of `esize` (content `esize - 8` bytes) and the given vox_offset. */
function withExtension(opts: { esize: number; voxOffset: number; ecode?: number; gzip?: boolean }): Uint8Array {
  const plain = Buffer.from(writeNifti({ shape: SHAPE, data: DATA, affine: AFFINE, gzip: false }));
  const header = Buffer.from(plain.subarray(0, 348));
  header.writeFloatLE(opts.voxOffset, 108);
  const ext = Buffer.alloc(Math.max(8, opts.esize));
  ext.writeInt32LE(opts.esize, 0);
  ext.writeInt32LE(opts.ecode ?? 4, 4);
  // AFNI extensions hold XML text (base64 payloads in real files: barely compressible, so the extension
  // outlasts the few KB the .nii.gz reader decompresses to parse the header first).
  let x = 12345;
  for (let i = 8; i < ext.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    ext[i] = 0x30 + ((x >>> 16) % 64);
  }
  ext.write('<?xml version="1.0" ?>\n<AFNI_attributes ni_form="ni_group">', 8, "latin1");
  const gap = Buffer.alloc(Math.max(0, opts.voxOffset - 352 - ext.length));
  const image = plain.subarray(352);
  const file = Buffer.concat([header, Buffer.from([1, 0, 0, 0]), ext, gap]).subarray(0, opts.voxOffset);
  const bytes = Buffer.concat([file, image]);
  return opts.gzip === false ? bytes : zlib.gzipSync(bytes);
}

describe("header extensions as nibabel reads them", () => {
  it("accepts an AFNI extension that ends exactly at vox_offset (BraTS 2023 shape), gzipped and plain", () => {
    for (const gzip of [true, false]) {
      // Several KB, much longer than the header prefix the .nii.gz reader parses first.
      const esize = 6256;
      const vol = readNifti(withExtension({ esize, voxOffset: 352 + esize, gzip }), "brats2023-like.nii.gz");
      expect(vol.header.voxOffset).toBe(352 + esize);
      expect(vol.header.extensions.map((e) => [e.ecode, e.esize])).toEqual([[4, esize]]);
      expect(Array.from(vol.data)).toEqual(Array.from(DATA));
    }
  });

  it("writeNifti's own AFNI-sized extension round-trips", () => {
    const data = Buffer.alloc(9000, 0x41);
    const bytes = writeNifti({ shape: SHAPE, data: DATA, affine: AFFINE, extensions: [{ ecode: 4, data }] });
    const vol = readNifti(bytes, "written.nii.gz");
    expect(vol.header.extensions[0]?.ecode).toBe(4);
    expect(vol.header.extensions[0]?.esize).toBe(vol.header.voxOffset - 352);
  });

  it("reads an esize that is not a multiple of 16 and stops when fewer than 16 bytes remain", () => {
    const vol = readNifti(withExtension({ esize: 1000, voxOffset: 352 + 1000 + 8 }), "odd.nii.gz");
    expect(vol.header.extensions.map((e) => e.esize)).toEqual([1000]);
    expect(Array.from(vol.data)).toEqual(Array.from(DATA));
  });

  it("refuses an esize below 8 and one that runs past the end of the file", () => {
    expect(() => readNifti(withExtension({ esize: 4, voxOffset: 352 + 32 }), "tiny.nii.gz")).toThrow(/esize 4/);
    const bytes = withExtension({ esize: 64, voxOffset: 352 + 64, gzip: false });
    Buffer.from(bytes.buffer, bytes.byteOffset).writeInt32LE(1 << 20, 352);
    expect(() => readNifti(bytes, "long.nii")).toThrow(/past the end of the file/);
  });
});

describe("NaN in headers and voxels is reported, never silent", () => {
  const subject = generatePhantomSubject(0, { size: [16, 16, 8], seed: "nan" });
  const files = phantomSubjectFiles(subject);
  const load = (patch?: (name: string, raw: Buffer) => void): Partial<Record<string, LoadedFile>> => {
    const out: Record<string, LoadedFile> = {};
    for (const [name, gz] of Object.entries(files)) {
      const raw = zlib.gunzipSync(gz);
      patch?.(name, raw);
      const role = /_(t1ce|t1|t2|flair|seg)\.nii\.gz$/.exec(name)?.[1] as string;
      out[role] = { name, volume: readNifti(raw, name) };
    }
    return out;
  };

  it("nifti info and validation report a NaN pixdim", () => {
    const loaded = load((name, raw) => {
      if (name.endsWith("_flair.nii.gz")) raw.writeFloatLE(Number.NaN, 80); // pixdim[1]
    });
    expect(niftiInfo(loaded.flair!.volume).warnings).toEqual([expect.stringMatching(/pixdim\[1\] is NaN/)]);
    expect(niftiInfo(loaded.t1!.volume).warnings).toBeUndefined();
    const v = validateSubject(subject.id, loaded, { scheme: "brats2020" });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems.map((p) => p.reason).join(" ")).toMatch(/pixdim\[1\.\.3\] is NaN/);
  });

  it("nifti info counts NaN voxels and validation refuses them", () => {
    const flair = Float32Array.from(subject.flair);
    flair[10] = Number.NaN;
    flair[11] = Number.NaN;
    const volume = readNifti(writeNifti({ shape: subject.shape, data: flair, affine: subject.affine }), "f.nii.gz");
    expect(niftiInfo(volume).warnings).toEqual(["2 stored values are NaN or infinite (first at index 10)"]);
    const loaded = load();
    loaded.flair = { name: "f.nii.gz", volume };
    const v = validateSubject(subject.id, loaded, { scheme: "brats2020" });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems[0]?.reason).toMatch(/voxel 10 is NaN/);
  });
});
