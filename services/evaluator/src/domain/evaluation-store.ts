// The `evaluation` artifact: per-subject metrics (metrics.json, metrics.csv) and the per-class summary
// (summary.json); manifest.json, written last, carries the summary too so GetEvaluation reads one object.
import type { ArtifactStore, Manifest, ObjectRef } from "@synthmri/platform";
import {
  type AggregatedMetrics,
  type EmptyPolicy,
  METRIC_NAMES,
  SEG_CLASSES,
  type SubjectMetrics,
  toCsv,
} from "@synthmri/eval";
import type { SplitName } from "./ports.js";

export const EVALUATION_KIND = "evaluation";

export interface EvaluationInfo {
  modelId: string;
  modelVersion: number;
  datasetId: string;
  split: SplitName;
  condition: string;
  emptyPolicy: EmptyPolicy;
  hdPercentile: number;
  tta: boolean;
  subjects: number;
  /** Axial positions between kept slices that had no slice (background in both volumes). */
  gapSlices: number;
  /** Per class and metric: {mean, std, median, n, nExcluded, min, max} over subjects (NaN written as null). */
  summary: AggregatedMetrics["classes"];
}

export interface StoredEvaluation {
  id: string;
  createdAt: string;
  info: EvaluationInfo;
  /** ObjectRefs of the per-subject files. */
  files: ObjectRef[];
  manifest: ObjectRef;
}

/** JSON cannot hold NaN: it is written as null. */
export function jsonWithNull(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1)}\n`;
}

export function metricsCsv(subjects: readonly SubjectMetrics[]): string {
  const rows: unknown[][] = [];
  for (const s of subjects)
    for (const cls of SEG_CLASSES) {
      const m = s.classes[cls];
      if (m) rows.push([s.subjectId, cls, m.dice, m.hd95, m.sensitivity, m.specificity, m.tp, m.fp, m.fn, m.emptyCase]);
    }
  return toCsv(
    ["subject_id", "class", "dice", "hd95_mm", "sensitivity", "specificity", "tp", "fp", "fn", "empty_case"],
    rows,
  );
}

export async function writeEvaluation(
  artifacts: ArtifactStore,
  id: string,
  info: EvaluationInfo,
  subjects: readonly SubjectMetrics[],
  inputs: ObjectRef[],
  provenance: Record<string, unknown> = {},
): Promise<StoredEvaluation> {
  const writer = await artifacts.beginArtifact(EVALUATION_KIND, id);
  try {
    const files = await Promise.all([
      writer.putFile("metrics.json", jsonWithNull({ emptyPolicy: info.emptyPolicy, subjects }), {
        contentType: "application/json",
      }),
      writer.putFile("metrics.csv", metricsCsv(subjects), { contentType: "text/csv" }),
      writer.putFile("summary.json", jsonWithNull(info), { contentType: "application/json" }),
    ]);
    const { manifest, ref } = await writer.commit({
      inputs,
      params: { ...info, summary: undefined },
      provenance,
      extra: { evaluation: JSON.parse(jsonWithNull(info)) },
    });
    return { id, createdAt: manifest.createdAt, info, files, manifest: ref };
  } catch (e) {
    await writer.abort().catch(() => undefined);
    throw e;
  }
}

/** null (a NaN written to JSON) back to NaN, so means keep excluding it. */
function revive(v: unknown): number {
  return v === null || v === undefined ? Number.NaN : Number(v);
}

export async function readEvaluation(artifacts: ArtifactStore, id: string): Promise<StoredEvaluation> {
  const manifest = (await artifacts.getManifest(EVALUATION_KIND, id)) as Manifest<{ evaluation: EvaluationInfo }>;
  const files = await Promise.all(
    Object.keys(manifest.checksums)
      .sort()
      .map((p) => artifacts.fileRef(EVALUATION_KIND, id, p)),
  );
  const info = manifest.evaluation;
  // Summary numbers that were NaN came back as null.
  for (const cls of Object.keys(info.summary ?? {}) as (keyof typeof info.summary)[]) {
    const perMetric = info.summary[cls];
    if (!perMetric) continue;
    for (const m of METRIC_NAMES) {
      const s = perMetric[m] as unknown as Record<string, unknown>;
      for (const k of Object.keys(s)) s[k] = revive(s[k]);
    }
  }
  return {
    id,
    createdAt: manifest.createdAt,
    info,
    files,
    manifest: await artifacts.manifestRef(EVALUATION_KIND, id),
  };
}

/** Per-subject metrics of an evaluation, NaN restored. */
export async function readSubjectMetrics(artifacts: ArtifactStore, id: string): Promise<SubjectMetrics[]> {
  const doc = await artifacts.readJson<{ subjects: SubjectMetrics[] }>(EVALUATION_KIND, id, "metrics.json");
  for (const s of doc.subjects)
    for (const cls of SEG_CLASSES) {
      const m = s.classes[cls] as unknown as Record<string, unknown> | undefined;
      if (!m) continue;
      for (const k of ["dice", "hd95", "sensitivity", "specificity"]) m[k] = revive(m[k]);
    }
  return doc.subjects;
}
