// Compare: evaluations grouped into training conditions (each evaluation = one training run) -> the seed-000
// Table 1: per class mean ± std of Dice over runs, paired sign-flip p-values of every condition against the
// reference (real-only) condition (plus any extra pairs) on per-subject Dice, Bonferroni-corrected over the
// report's comparisons.
import { InvalidInput, type ArtifactStore, type ObjectRef, throwIfAborted } from "@synthmri/platform";
import {
  conditionFromRuns,
  type ConditionInput,
  type EmptyPolicy,
  renderMarkdown,
  type RenderedReport,
  renderReport,
  renderSummaryCsv,
  type SegClass,
  SEG_CLASSES,
  type SignFlipOptions,
} from "@synthmri/eval";
import { readEvaluation, readSubjectMetrics } from "./evaluation-store.js";
import type { RunControl } from "./evaluate.js";
import { checkOutputDir, type StoredReport, writeReport } from "./report-store.js";

export interface CompareParams {
  reportId: string;
  /** descriptive: a row only, not tested against the reference (baselines; controls use extraComparisons). */
  conditions: { name: string; evaluationIds: string[]; descriptive?: boolean }[];
  /** Reference (baseline) condition; empty = the first. */
  reference: string;
  classes: SegClass[];
  permutation: SignFlipOptions;
  /** Bonferroni across the report's comparisons (default) or none (p_corrected = p_value). */
  correction?: "bonferroni" | "none";
  title: string;
  outputDir: string;
  /** Paired tests besides every condition vs the reference (A - B); family "control" is corrected on its own. */
  extraComparisons?: { a: string; b: string; family?: "primary" | "control" }[];
}

export function checkCompareParams(p: CompareParams): void {
  if (p.conditions.length === 0) throw new InvalidInput("compare needs at least one condition with evaluation ids");
  const names = new Set<string>();
  for (const c of p.conditions) {
    if (!c.name.trim()) throw new InvalidInput("a condition has an empty name; name every condition (table row)");
    if (names.has(c.name)) throw new InvalidInput(`condition "${c.name}" appears twice; names must be unique`);
    names.add(c.name);
    if (c.evaluationIds.length === 0)
      throw new InvalidInput(`condition "${c.name}" has no evaluation ids; evaluate its trained models first`);
    if (new Set(c.evaluationIds).size !== c.evaluationIds.length)
      throw new InvalidInput(`condition "${c.name}" lists an evaluation twice; each run counts once`);
  }
  if (p.reference && !names.has(p.reference))
    throw new InvalidInput(`reference condition "${p.reference}" is not among [${[...names].join(", ")}]`);
  for (const x of p.extraComparisons ?? []) {
    for (const n of [x.a, x.b])
      if (!names.has(n))
        throw new InvalidInput(`extra comparison names unknown condition "${n}"; known: ${[...names].join(", ")}`);
    if (x.a === x.b) throw new InvalidInput(`extra comparison compares "${x.a}" with itself`);
  }
  for (const cls of p.classes)
    if (!SEG_CLASSES.includes(cls)) throw new InvalidInput(`class "${cls}" is unknown; use ${SEG_CLASSES.join(", ")}`);
  checkOutputDir(p.outputDir);
}

export async function runCompare(
  deps: { artifacts: ArtifactStore; provenance?: Record<string, unknown> },
  p: CompareParams,
  control: RunControl = {},
): Promise<StoredReport> {
  checkCompareParams(p);
  const progress = control.progress ?? (() => {});
  const inputs: ObjectRef[] = [];
  const conditions: ConditionInput[] = [];
  let policy: EmptyPolicy | undefined;
  let dataset: { id: string; split: string; from: string } | undefined;
  const total = p.conditions.reduce((s, c) => s + c.evaluationIds.length, 0);
  let loaded = 0;
  for (const c of p.conditions) {
    const runs = [];
    for (const id of c.evaluationIds) {
      throwIfAborted(control.signal);
      const ev = await readEvaluation(deps.artifacts, id);
      inputs.push(ev.manifest);
      policy ??= ev.info.emptyPolicy;
      if (ev.info.emptyPolicy !== policy)
        throw new InvalidInput(
          `evaluation ${id} used empty-case policy ${ev.info.emptyPolicy} but others used ${policy}; re-evaluate with one policy`,
        );
      dataset ??= { id: ev.info.datasetId, split: ev.info.split, from: id };
      if (ev.info.datasetId !== dataset.id || ev.info.split !== dataset.split)
        throw new InvalidInput(
          `evaluation ${id} is on dataset ${ev.info.datasetId} (${ev.info.split}) but ${dataset.from} is on ` +
            `${dataset.id} (${dataset.split}); paired tests need every condition on the same test subjects`,
        );
      runs.push(await readSubjectMetrics(deps.artifacts, id));
      loaded++;
      progress({ fraction: (0.5 * loaded) / total, phase: "load", message: `${loaded}/${total} evaluations loaded` });
    }
    conditions.push(conditionFromRuns(c.name, runs));
  }
  progress({ fraction: 0.5, phase: "statistics", message: "permutation tests" });
  const classes = p.classes.length ? p.classes : [...SEG_CLASSES];
  const baseline = p.reference || p.conditions[0].name;
  const vsBaseline = p.conditions
    .filter((c) => c.name !== baseline && !c.descriptive)
    .map((c) => ({ a: c.name, b: baseline }));
  const extra = (p.extraComparisons ?? []).filter(
    (x) => !vsBaseline.some((v) => (v.a === x.a && v.b === x.b) || (v.a === x.b && v.b === x.a)),
  );
  const bonferroni = renderReport(conditions, {
    baseline,
    comparisons: [...vsBaseline, ...extra],
    classes,
    emptyPolicy: policy,
    permutation: p.permutation,
    title: p.title || undefined,
  });
  const rendered = p.correction === "none" ? uncorrected(bonferroni) : bonferroni;
  throwIfAborted(control.signal);

  const summary: Record<string, number> = {};
  for (const c of rendered.json.conditions)
    for (const cls of classes) {
      const m = c.dice[cls]?.mean;
      if (m !== null && m !== undefined) summary[`dice_${c.name}_${cls}`] = m;
    }
  for (const cmp of rendered.json.comparisons) {
    summary[`p_value_${cmp.b}_vs_${cmp.a}_${cmp.class}`] = cmp.p_value;
    summary[`p_corrected_${cmp.b}_vs_${cmp.a}_${cmp.class}`] = cmp.p_corrected;
  }
  summary.n_subjects = rendered.json.n_subjects;
  summary.n_comparisons = rendered.json.correction.n_comparisons;
  summary.n_comparisons_secondary = rendered.json.correction.families.secondary;
  summary.n_comparisons_control = rendered.json.correction.families.control;

  progress({ fraction: 0.9, phase: "store", message: "writing report" });
  return writeReport(
    deps.artifacts,
    p.reportId,
    { kind: "compare", summary, outputDir: checkOutputDir(p.outputDir) },
    {
      "report.md": rendered.markdown,
      "report.json": rendered.jsonText,
      "per_subject.csv": rendered.perSubjectCsv,
      "summary.csv": rendered.summaryCsv,
      ...rendered.figures,
    },
    inputs,
    { ...p, reportId: undefined },
    deps.provenance,
  );
}

/** The report with p_corrected = p_value (correction NONE), every text saying so. */
export function uncorrected(r: RenderedReport): RenderedReport {
  const json = structuredClone(r.json);
  for (const c of json.comparisons) c.p_corrected = c.p_value;
  (json.correction as { method: string }).method = "none";
  json.metric_definitions.p_corrected = "not corrected for multiple comparisons (correction NONE): equals p_value";
  const n = json.correction.n_comparisons;
  const markdown = renderMarkdown(json)
    .replace(`Bonferroni-corrected over ${n} comparisons`, `not corrected for the ${n} comparisons`)
    .replace("| p (Bonferroni in family) |", "| p (uncorrected) |");
  const jsonText = `${JSON.stringify(json, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`;
  return { ...r, json, jsonText, markdown, summaryCsv: renderSummaryCsv(json) };
}
