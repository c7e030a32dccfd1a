import { describe, expect, it } from "vitest";
import {
  InvalidInput,
  labelOfMaskLevel,
  MASK_LEVELS_255,
  maskLut,
  maskToLabels,
  NOT_A_MASK_VALUE,
  SEED000_MASK_VALUES,
} from "../src/index.js";

describe("mask encoding", () => {
  it("maps the seed-000 levels 0/51/102/204 to internal labels 0 bg, 1 NCR, 2 ED, 3 ET and back", () => {
    expect([...MASK_LEVELS_255]).toEqual([0, 51, 102, 204]);
    expect(SEED000_MASK_VALUES).toEqual({ NCR: 51, ED: 102, ET: 204 });
    expect([...maskToLabels(Uint8Array.from([0, 51, 102, 204]), "x")]).toEqual([0, 1, 2, 3]);
    for (let label = 0; label < 4; label++) expect(labelOfMaskLevel(MASK_LEVELS_255[label])).toBe(label);
  });

  it("marks every other byte as not a mask value", () => {
    const lut = maskLut();
    const valid = new Set<number>(MASK_LEVELS_255);
    for (let v = 0; v < 256; v++) {
      if (valid.has(v)) expect(lut[v]).not.toBe(NOT_A_MASK_VALUE);
      else {
        expect(lut[v]).toBe(NOT_A_MASK_VALUE);
        expect(labelOfMaskLevel(v)).toBeUndefined();
      }
    }
  });

  it("honours the mask values a manifest records", () => {
    const lut = maskLut({ NCR: 1, ED: 2, ET: 4 });
    expect([1, 2, 4, 0].map((v) => lut[v])).toEqual([1, 2, 3, 0]);
    expect(lut[3]).toBe(NOT_A_MASK_VALUE);
    expect([...maskToLabels(Uint8Array.from([4, 2]), "x", { NCR: 1, ED: 2, ET: 4 })]).toEqual([3, 2]);
  });

  it("rejects a byte outside the encoding with where it came from", () => {
    expect(() => maskToLabels(Uint8Array.from([0, 50]), "subject s1 slice 3")).toThrow(InvalidInput);
    expect(() => maskToLabels(Uint8Array.from([0, 50]), "subject s1 slice 3")).toThrow(
      /subject s1 slice 3: mask value 50 is not one of 0\/51\/102\/204/,
    );
  });

  it("rejects mask values that collide or are not bytes", () => {
    expect(() => maskLut({ NCR: 51, ED: 51, ET: 204 })).toThrow(/distinct/);
    expect(() => maskLut({ NCR: 0, ED: 102, ET: 204 })).toThrow(/distinct/);
    expect(() => maskLut({ NCR: 51, ED: 102, ET: 300 })).toThrow(/0\.\.255/);
  });
});
