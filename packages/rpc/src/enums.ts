// Proto enums shared by several contracts <-> the plain names the domain code uses. One place, one naming
// style (`xFromProto` / `xToProto`), so every service reads an unset or unknown enum value the same way:
// UNSPECIFIED means "the caller's default" (a fallback the call site names), a value this build does not know
// (a newer client) is InvalidInput rather than a silent guess.
import { LabelScheme, Modality, Split } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";

export type SplitName = "train" | "test" | "all";

/** Split -> name; UNSPECIFIED -> `fallback` (train unless the call says otherwise). */
export function splitFromProto(s: Split, fallback: SplitName = "train"): SplitName {
  switch (s) {
    case Split.UNSPECIFIED:
      return fallback;
    case Split.TRAIN:
      return "train";
    case Split.TEST:
      return "test";
    case Split.ALL:
      return "all";
    default:
      throw new InvalidInput(`split ${s} is unknown; use SPLIT_TRAIN, SPLIT_TEST or SPLIT_ALL`);
  }
}

export function splitToProto(s: SplitName): Split {
  return s === "train" ? Split.TRAIN : s === "test" ? Split.TEST : Split.ALL;
}

export type LabelSchemeName = "brats2020" | "brats2023";

/** LabelScheme -> name; UNSPECIFIED -> `fallback` (undefined when none is given: "keep what the data says"). */
export function labelSchemeFromProto(s: LabelScheme): LabelSchemeName | undefined;
export function labelSchemeFromProto(s: LabelScheme, fallback: LabelSchemeName): LabelSchemeName;
export function labelSchemeFromProto(s: LabelScheme, fallback?: LabelSchemeName): LabelSchemeName | undefined {
  switch (s) {
    case LabelScheme.UNSPECIFIED:
      return fallback;
    case LabelScheme.BRATS2020:
      return "brats2020";
    case LabelScheme.BRATS2023:
      return "brats2023";
    default:
      throw new InvalidInput(`label scheme ${s} is not known (use BRATS2020 or BRATS2023)`);
  }
}

export function labelSchemeToProto(s: LabelSchemeName): LabelScheme {
  return s === "brats2023" ? LabelScheme.BRATS2023 : LabelScheme.BRATS2020;
}

export type SequenceModalityName = "t1" | "t1ce" | "t2" | "flair";
/** The four MR sequences and the segmentation, as cohort layouts name the files' roles. */
export type ModalityName = SequenceModalityName | "seg";

const MODALITY_NAMES: Partial<Record<Modality, ModalityName>> = {
  [Modality.T1]: "t1",
  [Modality.T1CE]: "t1ce",
  [Modality.T2]: "t2",
  [Modality.FLAIR]: "flair",
  [Modality.SEG]: "seg",
};

const MODALITY_VALUES: Record<ModalityName, Modality> = {
  t1: Modality.T1,
  t1ce: Modality.T1CE,
  t2: Modality.T2,
  flair: Modality.FLAIR,
  seg: Modality.SEG,
};

/** Modality -> name; InvalidInput for UNSPECIFIED or an unknown value. */
export function modalityFromProto(m: Modality): ModalityName {
  const name = MODALITY_NAMES[m];
  if (!name) throw new InvalidInput(`modality ${Modality[m] ?? m} is not one of T1, T1CE, T2, FLAIR, SEG`);
  return name;
}

/** The MR sequence a Modality names, or undefined for SEG, UNSPECIFIED and unknown values. */
export function sequenceFromProto(m: Modality): SequenceModalityName | undefined {
  const name = MODALITY_NAMES[m];
  return name === "seg" ? undefined : name;
}

export function modalityToProto(m: ModalityName): Modality {
  return MODALITY_VALUES[m];
}
