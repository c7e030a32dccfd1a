// The inputs of a comparison report: training conditions (real only, real + k GANs, k GANs only, ...), each with
// per-run mean Dice and per-subject Dice, and a helper that derives them from per-run per-subject metrics.
import { InvalidInput } from "@synthmri/core";
import { SEG_CLASSES, type SegClass } from "../metrics/classes.js";
import type { SubjectMetrics } from "../metrics/segmentation.js";
import { mean } from "../stats/descriptive.js";

export interface SubjectDice {
  subjectId: string;
  dice: Partial<Record<SegClass, number>>;
}

export interface ConditionInput {
  name: string;
  /** One entry per training run: per-class Dice averaged over the test subjects (NaN-excluded). */
  runMeanDice: Partial<Record<SegClass, number>>[];
  /** Per-subject Dice used by the paired tests; normally each subject's mean over runs. */
  subjectDice: SubjectDice[];
  /** Optional full metrics per run and subject, for the per-subject CSV. */
  runs?: SubjectMetrics[][];
}

/** Mean over the non-NaN values; NaN when there are none. */
function nanMean(values: number[]): number {
  return mean(values.filter((v) => !Number.isNaN(v)));
}

/**
 * Builds a condition from its runs' per-subject metrics (runs[r] = the test subjects' metrics of training run r).
 * Per-run Dice = mean over subjects; per-subject Dice = mean over runs. NaN (nan-excluded policy) never averages.
 */
export function conditionFromRuns(name: string, runs: SubjectMetrics[][]): ConditionInput {
  if (runs.length === 0 || runs.every((r) => r.length === 0))
    throw new InvalidInput(`condition "${name}" has no evaluated runs; evaluate at least one trained model first`);
  const runMeanDice = runs.map((subjects) => {
    const out: Partial<Record<SegClass, number>> = {};
    for (const cls of SEG_CLASSES) {
      const vals = subjects.map((s) => s.classes[cls]?.dice).filter((v): v is number => v !== undefined);
      if (vals.length) out[cls] = nanMean(vals);
    }
    return out;
  });
  const bySubject = new Map<string, Partial<Record<SegClass, number[]>>>();
  for (const subjects of runs)
    for (const s of subjects) {
      let entry = bySubject.get(s.subjectId);
      if (!entry) {
        entry = {};
        bySubject.set(s.subjectId, entry);
      }
      for (const cls of SEG_CLASSES) {
        const d = s.classes[cls]?.dice;
        if (d === undefined) continue;
        const list = entry[cls] ?? [];
        list.push(d);
        entry[cls] = list;
      }
    }
  const subjectDice: SubjectDice[] = [...bySubject.entries()].map(([subjectId, lists]) => {
    const dice: Partial<Record<SegClass, number>> = {};
    for (const cls of SEG_CLASSES) if (lists[cls]) dice[cls] = nanMean(lists[cls]);
    return { subjectId, dice };
  });
  return { name, runMeanDice, subjectDice, runs };
}
