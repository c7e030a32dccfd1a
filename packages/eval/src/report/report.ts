// Comparison report (seed 000 Table 1): per condition mean ± std of Dice over training runs per class, paired
// sign-flip tests on per-subject Dice between conditions, Bonferroni-corrected across all of the report's
// comparisons; rendered as report.json, a markdown table, CSVs and a Dice box plot. Pure: returns strings and
// buffers; the evaluator service stores them.
import { InvalidInput } from "@synthmri/core";
import { diceBoxPlot } from "../figures/box-plot.js";
import { CLASS_DESCRIPTIONS, SEG_CLASSES, type SegClass } from "../metrics/classes.js";
import { DEFAULT_EMPTY_POLICY, type EmptyPolicy } from "../metrics/segmentation.js";
import { meanStd } from "../stats/descriptive.js";
import { bonferroni, pairedSignFlipTest, type SignFlipOptions } from "../stats/permutation.js";
import type { ConditionInput } from "./conditions.js";
import { toCsv } from "./csv.js";

export const REPORT_SCHEMA = "synthmri.report/v1";
/** The three single labels whose average is Table 1's "Mean" column. */
const LABELS_FOR_MEAN: SegClass[] = ["NCR", "ED", "ET"];
/** Table 1's "Mean" column as a tested quantity: the per-subject mean of NCR, ED and ET Dice. */
export const LABEL_MEAN = "Mean";
export type TestedClass = SegClass | typeof LABEL_MEAN;

/**
 * Multiple-comparison families, each Bonferroni-corrected over its own tests: "primary" = the hypotheses on
 * Table 1's columns (NCR, ED, ET and their mean), "secondary" = the same pairs on the composite regions WT and TC
 * (reported, named secondary), "control" = positive/negative controls on every column.
 */
export type ComparisonFamily = "primary" | "secondary" | "control";

/**
 * The family a test of `cls` belongs to, for a pair in the primary or control set. WT and TC are secondary only
 * beside Table 1's columns (`withMean`); a report on WT/TC alone has nothing else to make primary.
 */
export function familyOf(pair: "primary" | "control", cls: TestedClass, withMean = true): ComparisonFamily {
  if (pair === "control") return "control";
  return withMean && (cls === "WT" || cls === "TC") ? "secondary" : "primary";
}

export interface ReportOptions {
  title?: string;
  /** The real-only condition every other condition is tested against (default the first condition). */
  baseline?: string;
  /** Pairs to test; default every other condition against the baseline. family: "control" = a control pair. */
  comparisons?: { a: string; b: string; family?: "primary" | "control" }[];
  /** Classes (columns) of the report; default NCR, ED, ET, WT, TC. */
  classes?: SegClass[];
  /** Empty-case policy the metrics were computed with; recorded in the report. */
  emptyPolicy?: EmptyPolicy;
  permutation?: SignFlipOptions;
  /** Significance level used for the markdown asterisks (default 0.05). */
  alpha?: number;
}

export interface MeanStdJson {
  mean: number | null;
  std: number | null;
}

export interface ReportJson {
  schema: typeof REPORT_SCHEMA;
  title: string;
  empty_policy: EmptyPolicy;
  /** Runs per condition when all conditions have the same number; otherwise null (see conditions[].n_runs). */
  n_runs: number | null;
  /** Subjects shared by all conditions (the paired tests use the shared subjects of each pair). */
  n_subjects: number;
  baseline: string;
  classes: SegClass[];
  conditions: {
    name: string;
    n_runs: number;
    n_subjects: number;
    dice: Partial<Record<SegClass, MeanStdJson>>;
    /** Mean of NCR, ED, ET per run, then mean ± std over runs (Table 1's "Mean"). */
    dice_label_mean: MeanStdJson;
  }[];
  comparisons: {
    a: string;
    b: string;
    class: TestedClass;
    family: ComparisonFamily;
    p_value: number;
    p_corrected: number;
    mean_difference: number;
    n: number;
    method: "exact" | "monte-carlo";
    permutations: number;
  }[];
  /** n_comparisons: size of the primary family; families: size of each family (each corrected on its own). */
  correction: { method: "bonferroni"; n_comparisons: number; families: Record<ComparisonFamily, number> };
  metric_definitions: Record<string, string>;
}

export interface RenderedReport {
  json: ReportJson;
  /** report.json contents (NaN written as null). */
  jsonText: string;
  markdown: string;
  perSubjectCsv: string;
  summaryCsv: string;
  /** PNG figures by file name. */
  figures: Record<string, Buffer>;
}

function num(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function ms(values: number[]): MeanStdJson {
  const r = meanStd(values);
  return { mean: num(r.mean), std: num(r.std) };
}

export function metricDefinitions(policy: EmptyPolicy, permutation: SignFlipOptions): Record<string, string> {
  const defs: Record<string, string> = {
    dice: "2|P∩T| / (|P| + |T|) per subject over the 3D volume (all slices of a test subject)",
    hd95: "95th-percentile symmetric Hausdorff distance in mm between surface voxels (6-connectivity), anisotropic spacing",
    sensitivity: "TP / (TP + FN)",
    specificity: "TN / (TN + FP)",
    empty_policy:
      policy === "both-empty-1"
        ? "both-empty-1 (BraTS): a class absent in prediction and truth scores 1; prediction without truth scores 0"
        : "nan-excluded (nnU-Net): a class absent in prediction and truth is NaN and excluded; prediction without truth scores 0",
    mean_std: "mean ± sample standard deviation (n-1) over training runs of the per-run mean Dice over test subjects",
    p_value:
      "two-sided paired sign-flip permutation test on per-subject Dice differences (subject Dice = mean over runs), " +
      `statistic mean difference; exact over 2^n sign vectors when 2^n <= ${permutation.maxExact ?? 1e6}, ` +
      `otherwise ${permutation.samples ?? 100_000} seeded Monte Carlo vectors (seed ${permutation.seed ?? 0}) with p = (b+1)/(m+1)`,
    p_corrected:
      "Bonferroni within the test's family, capped at 1: primary = the hypotheses on NCR, ED, ET and their mean " +
      "(Table 1's columns), secondary = the same pairs on WT and TC, control = the controls",
    class_Mean: "per-subject mean of the NCR, ED and ET Dice (Table 1's Mean column)",
  };
  for (const c of SEG_CLASSES) defs[`class_${c}`] = CLASS_DESCRIPTIONS[c];
  return defs;
}

/** Computes the report structure (statistics included). */
export function buildReportJson(conditions: ConditionInput[], options: ReportOptions = {}): ReportJson {
  if (conditions.length === 0) throw new InvalidInput("report needs at least one condition");
  const names = new Set<string>();
  for (const c of conditions) {
    if (names.has(c.name)) throw new InvalidInput(`condition name "${c.name}" appears twice; names must be unique`);
    names.add(c.name);
    if (c.runMeanDice.length === 0) throw new InvalidInput(`condition "${c.name}" has no runs`);
  }
  const byName = new Map(conditions.map((c) => [c.name, c]));
  const classes = options.classes ?? [...SEG_CLASSES];
  const baseline = options.baseline ?? conditions[0].name;
  if (!byName.has(baseline))
    throw new InvalidInput(`baseline condition "${baseline}" is not among [${[...names].join(", ")}]`);
  const pairs: NonNullable<ReportOptions["comparisons"]> =
    options.comparisons ?? conditions.filter((c) => c.name !== baseline).map((c) => ({ a: c.name, b: baseline }));
  for (const p of pairs)
    for (const n of [p.a, p.b])
      if (!byName.has(n))
        throw new InvalidInput(`comparison names unknown condition "${n}"; known: ${[...names].join(", ")}`);
  const permutation = options.permutation ?? {};

  const withMean = LABELS_FOR_MEAN.every((l) => classes.includes(l));
  const tested: TestedClass[] = withMean ? [...classes, LABEL_MEAN] : [...classes];
  const raw = pairs.flatMap((pair) => {
    const { a, b } = pair;
    const ca = byName.get(a)!;
    const cb = byName.get(b)!;
    const bSubjects = new Map(cb.subjectDice.map((s) => [s.subjectId, s]));
    const shared = ca.subjectDice.filter((s) => bSubjects.has(s.subjectId));
    if (shared.length === 0)
      throw new InvalidInput(
        `conditions "${a}" and "${b}" share no test subject; evaluate them on the same test split`,
      );
    return tested.map((cls) => {
      const va = shared.map((s) => testedValue(s.dice, cls));
      const vb = shared.map((s) => testedValue(bSubjects.get(s.subjectId)!.dice, cls));
      const t = pairedSignFlipTest(va, vb, permutation);
      return { a, b, class: cls, family: familyOf(pair.family ?? "primary", cls, withMean), t };
    });
  });
  const corrected = new Array<number>(raw.length).fill(1);
  const families: Record<ComparisonFamily, number> = { primary: 0, secondary: 0, control: 0 };
  for (const f of Object.keys(families) as ComparisonFamily[]) {
    const idx = raw.flatMap((r, i) => (r.family === f ? [i] : []));
    families[f] = idx.length;
    const c = bonferroni(idx.map((i) => raw[i].t.pValue));
    idx.forEach((i, k) => {
      corrected[i] = c[k];
    });
  }
  const runCounts = conditions.map((c) => c.runMeanDice.length);
  let sharedAll = new Set(conditions[0].subjectDice.map((s) => s.subjectId));
  for (const c of conditions.slice(1)) {
    const ids = new Set(c.subjectDice.map((s) => s.subjectId));
    sharedAll = new Set([...sharedAll].filter((id) => ids.has(id)));
  }
  return {
    schema: REPORT_SCHEMA,
    title: options.title ?? "Segmentation accuracy on the real test set",
    empty_policy: options.emptyPolicy ?? DEFAULT_EMPTY_POLICY,
    n_runs: runCounts.every((n) => n === runCounts[0]) ? runCounts[0] : null,
    n_subjects: sharedAll.size,
    baseline,
    classes,
    conditions: conditions.map((c) => {
      const dice: Partial<Record<SegClass, MeanStdJson>> = {};
      for (const cls of classes) dice[cls] = ms(c.runMeanDice.map((r) => r[cls] ?? Number.NaN));
      const labelMeans = c.runMeanDice.map((r) => {
        const v = LABELS_FOR_MEAN.map((l) => r[l] ?? Number.NaN);
        return v.some(Number.isNaN) ? Number.NaN : (v[0] + v[1] + v[2]) / 3;
      });
      return {
        name: c.name,
        n_runs: c.runMeanDice.length,
        n_subjects: c.subjectDice.length,
        dice,
        dice_label_mean: ms(labelMeans),
      };
    }),
    comparisons: raw.map((r, i) => ({
      a: r.a,
      b: r.b,
      class: r.class,
      family: r.family,
      p_value: r.t.pValue,
      p_corrected: corrected[i],
      mean_difference: r.t.meanDifference,
      n: r.t.n,
      method: r.t.method,
      permutations: r.t.permutations,
    })),
    correction: { method: "bonferroni", n_comparisons: families.primary, families },
    metric_definitions: metricDefinitions(options.emptyPolicy ?? DEFAULT_EMPTY_POLICY, permutation),
  };
}

/** A subject's Dice for a tested class; the label mean is NaN when any of its three labels is. */
function testedValue(dice: Partial<Record<SegClass, number>>, cls: TestedClass): number {
  if (cls !== LABEL_MEAN) return dice[cls] ?? Number.NaN;
  const v = LABELS_FOR_MEAN.map((l) => dice[l] ?? Number.NaN);
  return v.some(Number.isNaN) ? Number.NaN : (v[0] + v[1] + v[2]) / 3;
}

function fmt(v: number | null, digits = 3): string {
  return v === null ? "n/a" : v.toFixed(digits);
}

export function formatP(p: number): string {
  if (p < 0.001) return "p<0.001";
  return `p=${p.toFixed(3)}`;
}

/** Markdown table cells cannot contain a bare pipe. */
function md(text: string): string {
  return text.replace(/\|/g, "\\|");
}

function cell(m: MeanStdJson | undefined): string {
  if (!m || m.mean === null) return "n/a";
  return `${fmt(m.mean)} ± ${fmt(m.std)}`;
}

/** Table-1-style markdown: conditions as rows, classes as columns, mean ± std over runs, p vs the baseline. */
export function renderMarkdown(report: ReportJson, alpha = 0.05): string {
  const cols = [...report.classes];
  const lines: string[] = [`# ${report.title}`, ""];
  lines.push(`| Condition | ${cols.join(" | ")} | Mean (NCR, ED, ET) |`);
  lines.push(`|---|${cols.map(() => "---").join("|")}|---|`);
  const vsBaseline = (name: string, cls: TestedClass) =>
    report.comparisons.find(
      (c) =>
        c.class === cls && ((c.a === name && c.b === report.baseline) || (c.b === name && c.a === report.baseline)),
    );
  for (const c of report.conditions) {
    const cells = cols.map((cls) => {
      const base = cell(c.dice[cls]);
      const cmp = c.name === report.baseline ? undefined : vsBaseline(c.name, cls);
      return cmp ? `${base} (${formatP(cmp.p_corrected)}${cmp.p_corrected < alpha ? "*" : ""})` : base;
    });
    const label = c.name === report.baseline ? `${c.name} (baseline)` : c.name;
    const meanCmp = c.name === report.baseline ? undefined : vsBaseline(c.name, LABEL_MEAN);
    const mean = meanCmp
      ? `${cell(c.dice_label_mean)} (${formatP(meanCmp.p_corrected)}${meanCmp.p_corrected < alpha ? "*" : ""})`
      : cell(c.dice_label_mean);
    lines.push(`| ${md(label)} | ${cells.join(" | ")} | ${mean} |`);
  }
  const runs = report.n_runs ?? `${report.conditions.map((c) => c.n_runs).join("/")}`;
  // One run per condition: no spread over runs to show, and the paired tests see only subject-to-subject variation.
  const spread =
    report.n_runs === 1
      ? "one training run per condition (no standard deviation over runs: ± n/a). The tests are paired over the " +
        "test subjects, so a p-value covers which subjects were tested, not run-to-run variation (the GAN a run " +
        "drew, the U-Net's initialisation); more runs per condition would add that. "
      : `mean ± standard deviation over ${runs} training runs. `;
  lines.push("");
  lines.push(
    `Dice per subject on ${report.n_subjects} test subjects; ${spread}` +
      `p: ${report.metric_definitions.p_value}; vs "${report.baseline}", Bonferroni-corrected over ` +
      `${report.correction.n_comparisons} comparisons (the primary family: NCR, ED, ET and Mean of every ` +
      `hypothesis; WT and TC form a secondary family of ${report.correction.families?.secondary ?? 0}, the controls ` +
      `a family of ${report.correction.families?.control ?? 0}); * p < ${alpha}. Empty-case policy: ${report.empty_policy}.`,
  );
  if (report.comparisons.length) {
    lines.push(
      "",
      "## Comparisons",
      "",
      "| A | B | Class | Family | Mean difference (A - B) | n | p | p (Bonferroni in family) |",
    );
    lines.push("|---|---|---|---|---|---|---|---|");
    for (const c of report.comparisons)
      lines.push(
        `| ${md(c.a)} | ${md(c.b)} | ${c.class} | ${c.family} | ${c.mean_difference.toFixed(4)} | ${c.n} | ${c.p_value.toPrecision(3)} | ${c.p_corrected.toPrecision(3)} |`,
      );
  }
  return `${lines.join("\n")}\n`;
}

/** One row per condition and class: mean, std, runs, p vs baseline (raw and corrected). */
export function renderSummaryCsv(report: ReportJson): string {
  const rows = report.conditions.flatMap((c) =>
    report.classes.map((cls) => {
      const cmp = report.comparisons.find((x) => x.class === cls && x.a === c.name && x.b === report.baseline);
      return [c.name, cls, c.dice[cls]?.mean, c.dice[cls]?.std, c.n_runs, c.n_subjects, cmp?.p_value, cmp?.p_corrected];
    }),
  );
  return toCsv(
    ["condition", "class", "dice_mean", "dice_std", "n_runs", "n_subjects", "p_value_vs_baseline", "p_corrected"],
    rows,
  );
}

/** One row per condition, run, subject and class; full metrics when the condition carries its runs. */
export function renderPerSubjectCsv(conditions: ConditionInput[], classes: SegClass[] = [...SEG_CLASSES]): string {
  const rows: unknown[][] = [];
  for (const c of conditions) {
    if (c.runs) {
      c.runs.forEach((subjects, run) => {
        for (const s of subjects)
          for (const cls of classes) {
            const m = s.classes[cls];
            if (m)
              rows.push([c.name, run, s.subjectId, cls, m.dice, m.hd95, m.sensitivity, m.specificity, m.emptyCase]);
          }
      });
    } else {
      for (const s of c.subjectDice)
        for (const cls of classes) rows.push([c.name, "mean", s.subjectId, cls, s.dice[cls], "", "", "", ""]);
    }
  }
  return toCsv(
    ["condition", "run", "subject_id", "class", "dice", "hd95_mm", "sensitivity", "specificity", "empty_case"],
    rows,
  );
}

/** A markdown "Figures" section: one image link per file (relative to the report), with its caption. */
export function figureLinks(figures: Record<string, string>): string {
  const entries = Object.entries(figures);
  if (entries.length === 0) return "";
  return [
    "## Figures",
    "",
    ...entries.flatMap(([file, caption]) => [`![${md(caption)}](${file})`, "", `*${md(caption)}*`, ""]),
  ].join("\n");
}

/** Everything the evaluator writes for a comparison: JSON, markdown, CSVs and the Dice box plot. */
export function renderReport(conditions: ConditionInput[], options: ReportOptions = {}): RenderedReport {
  const json = buildReportJson(conditions, options);
  const jsonText = `${JSON.stringify(json, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`;
  const boxPlot = diceBoxPlot(
    {
      conditions: conditions.map((c) => c.name),
      classes: json.classes,
      values: conditions.map((c) => json.classes.map((cls) => c.subjectDice.map((s) => s.dice[cls] ?? Number.NaN))),
    },
    { title: "Dice per test subject (mean over runs)" },
  );
  return {
    json,
    jsonText,
    markdown: `${renderMarkdown(json, options.alpha)}\n${figureLinks({ "dice_boxplot.png": "Dice per test subject and condition (box: quartiles, line: median, whiskers: 1.5 IQR, n per box)" })}`,
    perSubjectCsv: renderPerSubjectCsv(conditions, json.classes),
    summaryCsv: renderSummaryCsv(json),
    figures: { "dice_boxplot.png": boxPlot },
  };
}
