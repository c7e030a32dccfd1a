import { describe, expect, it } from "vitest";
import { decodeShard, encodeShard, resizeBatch, SEED000_SLICE_PARAMS, sliceSubject } from "../src/index.js";

// 6 (x) by 4 (y) by 3 (z). Slice z=0 all zero, z=1 bright in one pixel only, z=2 bright everywhere.
const shape = [6, 4, 3];
const n = 6 * 4 * 3;
const idx = (x: number, y: number, z: number) => x + 6 * (y + 4 * z);

function vols() {
  const t1 = new Float32Array(n);
  const t1ce = new Float32Array(n);
  const t2 = new Float32Array(n);
  const flair = new Float32Array(n);
  const seg = new Uint8Array(n);
  t1[idx(0, 0, 1)] = 1000;
  for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) t1[idx(x, y, 2)] = 500;
  for (let i = 0; i < n; i++) {
    t1ce[i] = t1[i] * 2;
    t2[i] = -t1[i];
    flair[i] = i;
  }
  seg[idx(1, 2, 2)] = 1;
  seg[idx(2, 2, 2)] = 2;
  seg[idx(3, 2, 2)] = 3;
  return { shape, t1, t1ce, t2, flair, seg };
}

describe("sliceSubject (seed 000)", () => {
  it("keeps slices by the 15 % > 50 rule on T1, pads to a centred power of two, maps labels", () => {
    const r = sliceSubject("s1", vols());
    expect(r.total).toBe(3);
    expect(r.batch.sliceIndex).toEqual([2]);
    expect(r.batch.subject).toEqual(["s1"]);
    expect(r.batch.height).toBe(8);
    expect(r.batch.width).toBe(8);
    expect(r.batch.channels).toBe(5);
    expect(r.params).toEqual(SEED000_SLICE_PARAMS);
    const px = (row: number, col: number, c: number) => r.batch.data[(row * 8 + col) * 5 + c];
    // rows = y (offset 2), cols = x (offset 1)
    expect(px(0, 0, 0)).toBe(0); // padding
    expect(px(2, 1, 0)).toBe(128); // t1 = 500 of min 0..max 1000 -> 127.5 rounds to 128
    expect(px(2, 1, 1)).toBe(128);
    expect(px(2, 1, 2)).toBe(128); // t2 = -500 of -1000..0
    expect(px(4, 2, 4)).toBe(51);
    expect(px(4, 3, 4)).toBe(102);
    expect(px(4, 4, 4)).toBe(204);
    expect(px(4, 5, 4)).toBe(0);
  });

  it("honours configured parameters (threshold channel, fraction, pad size)", () => {
    const r = sliceSubject("s1", vols(), { thresholdChannel: "flair", minFraction: 0.5, padTo: 16 });
    // flair = voxel index: slice 2 is all above 50/255 of max, slice 1 has half of its pixels above
    expect(r.batch.sliceIndex).toEqual([1, 2]);
    expect(r.batch.height).toBe(16);
    expect(() => sliceSubject("s1", vols(), { padTo: 4 })).toThrow(/do not fit/);
  });

  it("rejects labels outside the internal scheme, naming the subject", () => {
    const v = vols();
    v.seg[idx(0, 0, 2)] = 4;
    expect(() => sliceSubject("BraTS20_Training_004", v)).toThrow(/BraTS20_Training_004: seg value 4/);
  });
});

describe("shards and resize", () => {
  it("round-trips a shard", () => {
    const { batch } = sliceSubject("abc", vols(), { minFraction: 0 });
    const bytes = encodeShard(batch, { dataset: "d1" });
    const back = decodeShard(bytes);
    expect(back.count).toBe(3);
    expect(back.sliceIndex).toEqual([0, 1, 2]);
    expect(back.subject).toEqual(["abc", "abc", "abc"]);
    expect(back.meta).toEqual({ dataset: "d1" });
    expect(Buffer.from(back.data).equals(Buffer.from(batch.data))).toBe(true);
    expect(() => decodeShard(bytes.subarray(0, bytes.length - 1))).toThrow(/declares/);
    expect(() => decodeShard(new Uint8Array(20))).toThrow(/not a slice shard/);
  });

  it("resizes image channels by box average and the mask by nearest", () => {
    const data = new Uint8Array(4 * 4 * 2);
    for (let i = 0; i < 16; i++) {
      data[i * 2] = i * 10;
      data[i * 2 + 1] = [0, 51, 102, 204][i % 4];
    }
    const out = resizeBatch({ height: 4, width: 4, channels: 2, count: 1, data, sliceIndex: [0], subject: ["s"] }, 2);
    expect(out.height).toBe(2);
    // top-left block: pixels 0,1,4,5 -> values 0,10,40,50 -> mean 25
    expect(out.data[0]).toBe(25);
    for (let i = 0; i < 4; i++) expect([0, 51, 102, 204]).toContain(out.data[i * 2 + 1]);
    const odd = resizeBatch({ height: 4, width: 4, channels: 2, count: 1, data, sliceIndex: [0], subject: ["s"] }, 3);
    for (let i = 0; i < 9; i++) expect([0, 51, 102, 204]).toContain(odd.data[i * 2 + 1]);
  });
});
