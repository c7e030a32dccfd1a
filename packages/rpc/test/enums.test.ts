import { LabelScheme, Modality, Split } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { describe, expect, it } from "vitest";
import {
  labelSchemeFromProto,
  labelSchemeToProto,
  modalityFromProto,
  modalityToProto,
  sequenceFromProto,
  splitFromProto,
  splitToProto,
} from "../src/index.js";

describe("proto enum converters", () => {
  it("round-trips every split and reads UNSPECIFIED as the call's fallback", () => {
    for (const s of ["train", "test", "all"] as const) expect(splitFromProto(splitToProto(s))).toBe(s);
    expect(splitFromProto(Split.UNSPECIFIED)).toBe("train");
    expect(splitFromProto(Split.UNSPECIFIED, "test")).toBe("test");
    expect(() => splitFromProto(99 as Split)).toThrow(InvalidInput);
    expect(() => splitFromProto(99 as Split)).toThrow(/SPLIT_TRAIN, SPLIT_TEST or SPLIT_ALL/);
  });

  it("round-trips both label schemes; UNSPECIFIED is undefined unless a fallback is named", () => {
    for (const s of ["brats2020", "brats2023"] as const) expect(labelSchemeFromProto(labelSchemeToProto(s))).toBe(s);
    expect(labelSchemeToProto("brats2023")).toBe(LabelScheme.BRATS2023);
    expect(labelSchemeFromProto(LabelScheme.UNSPECIFIED)).toBeUndefined();
    expect(labelSchemeFromProto(LabelScheme.UNSPECIFIED, "brats2020")).toBe("brats2020");
    expect(() => labelSchemeFromProto(7 as LabelScheme, "brats2020")).toThrow(/label scheme 7 is not known/);
  });

  it("round-trips every modality; only the four sequences are sequences", () => {
    for (const m of ["t1", "t1ce", "t2", "flair", "seg"] as const)
      expect(modalityFromProto(modalityToProto(m))).toBe(m);
    expect(() => modalityFromProto(Modality.UNSPECIFIED)).toThrow(/is not one of T1, T1CE, T2, FLAIR, SEG/);
    expect(sequenceFromProto(Modality.T1CE)).toBe("t1ce");
    expect(sequenceFromProto(Modality.SEG)).toBeUndefined();
    expect(sequenceFromProto(Modality.UNSPECIFIED)).toBeUndefined();
  });
});
