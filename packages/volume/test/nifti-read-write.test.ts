import zlib from "node:zlib";
import { InvalidInput } from "@synthmri/core";
import { describe, expect, it } from "vitest";
import { type Mat4, qformAffine, readNifti, writeNifti } from "../src/index.js";

const LPS: Mat4 = [
  [-1, 0, 0, 120],
  [0, -1, 0, 119],
  [0, 0, 1, -70],
  [0, 0, 0, 1],
];

function ramp(n: number): Int16Array {
  const a = new Int16Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 37) % 3001) - 500;
  return a;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  let err: unknown;
  try {
    readNifti(bytes, "bad.nii.gz");
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidInput);
  expect((err as Error).message).toMatch(/^bad\.nii\.gz: /);
  expect((err as Error).message).toMatch(pattern);
}

describe("writeNifti -> readNifti", () => {
  it("round-trips data, shape, affine and codes (gzip and plain)", () => {
    const data = ramp(6 * 5 * 4);
    for (const gzip of [true, false]) {
      const bytes = writeNifti({ shape: [6, 5, 4], data, affine: LPS, gzip, descrip: "x" });
      const v = readNifti(bytes, "rt.nii");
      expect(v.shape).toEqual([6, 5, 4]);
      expect(v.datatype.name).toBe("int16");
      expect(Array.from(v.data)).toEqual(Array.from(data));
      expect(v.affine).toEqual(LPS);
      expect(v.affineSource).toBe("sform");
      expect(v.spacing).toEqual([1, 1, 1]);
      expect(v.header.qformCode).toBe(1);
      expect(v.header.xyztUnits).toBe(10);
    }
  });

  it("keeps an oblique affine in sform and its rotation in qform", () => {
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    const aff: Mat4 = [
      [-2 * c, 0, 3 * s, 10],
      [0, -2, 0, 20],
      [2 * s, 0, 3 * c, -5],
      [0, 0, 0, 1],
    ];
    const v = readNifti(
      writeNifti({ shape: [3, 3, 3], data: new Float32Array(27).fill(1.5), affine: aff }),
      "o.nii.gz",
    );
    const f32 = (x: number) => Math.fround(x);
    expect(v.affine.flat()).toEqual(aff.flat().map(f32));
    // qform computed from the stored quaternion reproduces the same affine to float32 precision
    const q = qformAffine(v.header.quatern, v.header.qoffset, v.header.pixdim);
    for (const [i, x] of q.flat().entries()) expect(x).toBeCloseTo(aff.flat()[i], 5);
  });

  it("applies scl_slope/scl_inter by the nibabel rule", () => {
    const d = new Int16Array([0, 1, 2, 3]);
    const scaled = readNifti(writeNifti({ shape: [4], data: d, affine: LPS, sclSlope: 0.5, sclInter: 10 })).scaled();
    expect(Array.from(scaled)).toEqual([10, 10.5, 11, 11.5]);
    const noScale = readNifti(writeNifti({ shape: [4], data: d, affine: LPS, sclSlope: 0, sclInter: 10 })).scaled();
    expect(Array.from(noScale)).toEqual([0, 1, 2, 3]);
    const nanSlope = readNifti(
      writeNifti({ shape: [4], data: d, affine: LPS, sclSlope: Number.NaN, sclInter: 3 }),
    ).scaled();
    expect(Array.from(nanSlope)).toEqual([0, 1, 2, 3]);
  });

  it("reads big-endian files", () => {
    const plain = writeNifti({ shape: [2, 2], data: new Int16Array([1, -2, 300, 4]), affine: LPS, gzip: false });
    const be = Buffer.from(plain);
    const swap = (o: number, w: number) => be.subarray(o, o + w).reverse();
    swap(0, 4);
    for (let i = 0; i < 8; i++) swap(40 + 2 * i, 2);
    for (const o of [68, 70, 72, 252, 254]) swap(o, 2);
    for (let i = 0; i < 8; i++) swap(76 + 4 * i, 4);
    for (const o of [108, 112, 116, 124, 128]) swap(o, 4);
    for (let i = 0; i < 18; i++) swap(256 + 4 * i, 4);
    for (let i = 352; i < be.length; i += 2) swap(i, 2);
    const v = readNifti(be, "be.nii");
    expect(v.header.littleEndian).toBe(false);
    expect(Array.from(v.data)).toEqual([1, -2, 300, 4]);
    expect(v.affine).toEqual(LPS);
  });
});

describe("readNifti rejects bad input with InvalidInput naming the file", () => {
  const good = writeNifti({ shape: [8, 8, 8], data: ramp(512), affine: LPS, gzip: false });

  it("non-NIfTI bytes", () =>
    rejects(new TextEncoder().encode("hello, this is not an image at all..."), /not a NIfTI file/));
  it("truncated gzip", () => {
    const gz = zlib.gzipSync(good);
    rejects(gz.subarray(0, gz.length - 40), /corrupt or truncated/);
  });
  it("bad magic", () => {
    const b = Buffer.from(good);
    b.write("xx1\0", 344, "latin1");
    rejects(b, /bad NIfTI-1 magic/);
  });
  it("vox_offset past the end", () => {
    const b = Buffer.from(good);
    b.writeFloatLE(4000, 108);
    rejects(b, /truncated, or vox_offset is wrong/);
  });
  it("truncated plain file", () => rejects(good.subarray(0, 600), /file has only 600 bytes/));
  it("dimension product overflow", () => {
    const b = Buffer.from(good);
    b.writeInt16LE(32767, 42);
    b.writeInt16LE(32767, 44);
    b.writeInt16LE(32767, 46);
    rejects(b, /dimension product overflow/);
  });
  it("zero and negative dims", () => {
    const b = Buffer.from(good);
    b.writeInt16LE(0, 44);
    rejects(b, /dim\[2\] is 0/);
    b.writeInt16LE(-3, 44);
    rejects(b, /dim\[2\] is -3/);
  });
  it("gzip bomb: decompression stops near the declared size", () => {
    // Header declares 8x8x8 int16 (1 KiB) but the stream carries 64 MiB of zeros after it.
    const bomb = zlib.gzipSync(Buffer.concat([good, Buffer.alloc(64 << 20)]));
    rejects(bomb, /gzip bomb/);
  });
  it("unsupported datatype", () => {
    const b = Buffer.from(good);
    b.writeInt16LE(1536, 70); // float128
    rejects(b, /unsupported NIfTI datatype 1536/);
  });
});
