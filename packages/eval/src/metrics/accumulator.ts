// MONAI-style accumulator: add one subject's metrics at a time, aggregate per class at the end.
import { InvalidInput } from "@synthmri/core";
import { type Summary, summarize } from "../stats/descriptive.js";
import { SEG_CLASSES, type SegClass } from "./classes.js";
import type { EmptyPolicy, SubjectMetrics } from "./segmentation.js";

export const METRIC_NAMES = ["dice", "hd95", "sensitivity", "specificity"] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface AggregatedMetrics {
  emptyPolicy: EmptyPolicy | null;
  nSubjects: number;
  /** Per class and metric: mean, sample std, median over subjects; NaN subjects excluded and counted. */
  classes: Partial<Record<SegClass, Record<MetricName, Summary>>>;
}

export class SegmentationMetricsAccumulator {
  private readonly subjects: SubjectMetrics[] = [];
  private readonly ids = new Set<string>();

  add(result: SubjectMetrics): void {
    if (this.ids.has(result.subjectId))
      throw new InvalidInput(
        `subject ${result.subjectId} was already added to this evaluation; each subject counts once`,
      );
    const first = this.subjects[0];
    if (first && first.emptyPolicy !== result.emptyPolicy)
      throw new InvalidInput(
        `subject ${result.subjectId} uses empty policy ${result.emptyPolicy} but this evaluation uses ${first.emptyPolicy}`,
      );
    this.ids.add(result.subjectId);
    this.subjects.push(result);
  }

  get size(): number {
    return this.subjects.length;
  }

  results(): readonly SubjectMetrics[] {
    return this.subjects;
  }

  /** Values of one metric for one class, in insertion order (NaN where undefined under the policy). */
  values(cls: SegClass, metric: MetricName): number[] {
    return this.subjects.map((s) => s.classes[cls]?.[metric] ?? Number.NaN);
  }

  aggregate(): AggregatedMetrics {
    const classes: AggregatedMetrics["classes"] = {};
    for (const cls of SEG_CLASSES) {
      if (!this.subjects.some((s) => s.classes[cls])) continue;
      const perMetric = {} as Record<MetricName, Summary>;
      for (const m of METRIC_NAMES) perMetric[m] = summarize(this.values(cls, m));
      classes[cls] = perMetric;
    }
    return { emptyPolicy: this.subjects[0]?.emptyPolicy ?? null, nSubjects: this.subjects.length, classes };
  }

  reset(): void {
    this.subjects.length = 0;
    this.ids.clear();
  }
}
