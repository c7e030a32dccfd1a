// Proto enums of the evaluator contract <-> the domain's plain values (Split, LabelScheme and Modality names
// convert in @synthmri/rpc).
import { Correction, EmptyCasePolicy, Modality, TumorClass } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import type { EmptyPolicy, SegClass } from "@synthmri/eval";

export function emptyPolicyFromProto(p: EmptyCasePolicy): EmptyPolicy {
  if (p === EmptyCasePolicy.EXCLUDE) return "nan-excluded";
  if (p === EmptyCasePolicy.ONE || p === EmptyCasePolicy.UNSPECIFIED) return "both-empty-1";
  throw new InvalidInput(`empty_case_policy ${p} is unknown; use EMPTY_CASE_POLICY_ONE or EMPTY_CASE_POLICY_EXCLUDE`);
}

export function emptyPolicyToProto(p: EmptyPolicy): EmptyCasePolicy {
  return p === "nan-excluded" ? EmptyCasePolicy.EXCLUDE : EmptyCasePolicy.ONE;
}

const CLASSES: Partial<Record<TumorClass, SegClass>> = {
  [TumorClass.NCR]: "NCR",
  [TumorClass.ED]: "ED",
  [TumorClass.ET]: "ET",
  [TumorClass.WT]: "WT",
  [TumorClass.TC]: "TC",
};

export function classesFromProto(classes: readonly TumorClass[]): SegClass[] {
  return classes.map((c) => {
    const cls = CLASSES[c];
    if (!cls) throw new InvalidInput(`class ${c} is not a tumour class; use TUMOR_CLASS_NCR, _ED, _ET, _WT or _TC`);
    return cls;
  });
}

/** Channel index of a modality in the 5-channel slices (T1, T1CE, T2, FLAIR, mask). */
export function channelsFromProto(mods: readonly Modality[]): number[] {
  const index: Partial<Record<Modality, number>> = {
    [Modality.T1]: 0,
    [Modality.T1CE]: 1,
    [Modality.T2]: 2,
    [Modality.FLAIR]: 3,
    [Modality.SEG]: 4,
  };
  const out = mods.map((m) => {
    const i = index[m];
    if (i === undefined)
      throw new InvalidInput(`channel ${m} is not a modality; use MODALITY_T1, _T1CE, _T2, _FLAIR or _SEG`);
    return i;
  });
  if (new Set(out).size !== out.length) throw new InvalidInput("a channel is listed twice");
  return out;
}

export function correctionFromProto(c: Correction): "bonferroni" | "none" {
  if (c === Correction.NONE) return "none";
  if (c === Correction.UNSPECIFIED || c === Correction.BONFERRONI) return "bonferroni";
  throw new InvalidInput(`correction ${c} is unknown; use CORRECTION_BONFERRONI or CORRECTION_NONE`);
}
