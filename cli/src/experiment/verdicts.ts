// Verdicts: each hypothesis of the plan (and each control) decided from the report's paired tests, in plain
// words. The decision is on Table 1's "Mean" column (per-subject mean of NCR, ED and ET Dice), Bonferroni-
// corrected within its family; the per-class p-values come along so a reader sees where a difference lies.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ComparisonRow } from "./outputs.js";
import { type HypothesisPlan, planConditions, planHypotheses } from "./plan.js";
import type { ExperimentSpec } from "./spec.js";

export const DECISION_CLASS = "Mean";

export interface VerdictP {
  p_value: number;
  p_corrected: number;
  /** A - B, in the hypothesis' orientation. */
  mean_difference: number;
}

export interface Verdict {
  hypothesis: string;
  comparison: { a: string; b: string; family: HypothesisPlan["family"]; decided_on: string };
  expected: HypothesisPlan["expected"];
  /** By class (NCR, ED, ET, Mean, and the secondary WT, TC when reported). */
  p_values: Record<string, VerdictP>;
  /** "supported", "contradicted", "not shown", "no difference", "difference", "control works", "control failed", "not tested". */
  outcome: string;
  verdict: string;
}

/** The report's test of A vs B on `cls` in A - B orientation (Compare may have run it as B - A). */
function findTest(rows: ComparisonRow[], a: string, b: string, cls: string): VerdictP | undefined {
  const direct = rows.find((r) => r.class === cls && r.a === a && r.b === b);
  if (direct)
    return { p_value: direct.p_value, p_corrected: direct.p_corrected, mean_difference: direct.mean_difference };
  const flipped = rows.find((r) => r.class === cls && r.a === b && r.b === a);
  if (flipped)
    return { p_value: flipped.p_value, p_corrected: flipped.p_corrected, mean_difference: -flipped.mean_difference };
  return undefined;
}

const fmtP = (p: number) => (p < 0.001 ? "p<0.001" : `p=${p.toFixed(3)}`);
const fmtD = (d: number) => `${d >= 0 ? "+" : ""}${d.toFixed(3)}`;

export interface VerdictOptions {
  /** Significance level for the corrected p-values (0.05). */
  alpha?: number;
  /**
   * Where no difference is expected: a significant difference smaller than this (mean Dice) still counts as "no
   * difference" (practical equivalence). A paired sign-flip test over few subjects calls any consistent
   * difference significant, however small (0 = significance alone decides).
   */
  equivalenceMargin?: number;
}

/** One verdict per hypothesis, decided at `alpha` on the corrected p of the Mean column. */
export function buildVerdicts(
  hypotheses: HypothesisPlan[],
  comparisons: ComparisonRow[],
  options: VerdictOptions = {},
): Verdict[] {
  const alpha = options.alpha ?? 0.05;
  const margin = options.equivalenceMargin ?? 0;
  return hypotheses.map((h) => {
    const classes = [...new Set(comparisons.map((c) => c.class))];
    const p_values: Record<string, VerdictP> = {};
    for (const cls of classes) {
      const t = findTest(comparisons, h.a, h.b, cls);
      if (t) p_values[cls] = t;
    }
    const base = {
      hypothesis: h.hypothesis,
      comparison: { a: h.a, b: h.b, family: h.family, decided_on: DECISION_CLASS },
      expected: h.expected,
      p_values,
    };
    const t = p_values[DECISION_CLASS];
    if (!t)
      return {
        ...base,
        outcome: "not tested",
        verdict: `not tested: the report has no ${DECISION_CLASS} test of ${h.a} vs ${h.b}`,
      };
    const sig = t.p_corrected < alpha;
    const better = t.mean_difference > 0 ? h.a : h.b;
    const worse = t.mean_difference > 0 ? h.b : h.a;
    const numbers = `mean Dice ${h.a} - ${h.b} = ${fmtD(t.mean_difference)}, ${fmtP(t.p_corrected)} corrected`;
    const perClass = Object.entries(p_values)
      .filter(([cls, v]) => cls !== DECISION_CLASS && v.p_corrected < alpha)
      .map(([cls, v]) => `${cls} ${fmtD(v.mean_difference)}`);
    const where = perClass.length ? `; significant per class: ${perClass.join(", ")}` : "";
    const isControl = h.family === "control";
    let outcome: string;
    let verdict: string;
    if (h.expected === "none") {
      const negligible = sig && Math.abs(t.mean_difference) < margin;
      const differs = sig && !negligible;
      outcome = differs ? (isControl ? "control failed" : "difference") : isControl ? "control works" : "no difference";
      verdict = differs
        ? `${isControl ? "control failed: " : ""}${better} scores higher than ${worse} although no difference is expected (${numbers}${where})`
        : negligible
          ? `${isControl ? "control works: " : ""}the difference is significant but smaller than the equivalence margin of ${margin} mean Dice, so equal in practice, as expected (${numbers})`
          : `${isControl ? "control works: " : ""}no significant difference, as expected (${numbers})`;
    } else if (h.expected === "open") {
      outcome = sig ? "difference" : "no difference";
      verdict = sig
        ? `${better} is significantly better than ${worse} (${numbers}${where})`
        : `no significant difference between ${h.a} and ${h.b} (${numbers})`;
    } else {
      const expectedA = h.expected === "a>b";
      const agrees = t.mean_difference > 0 === expectedA;
      if (isControl) {
        outcome = sig && agrees ? "control works" : "control failed";
        verdict =
          sig && agrees
            ? `control works: the test detects the expected difference, ${better} better than ${worse} (${numbers}${where})`
            : `control failed: the test does not detect the difference the control was built to have (${numbers}); non-significant hypotheses here are inconclusive, not evidence of no difference`;
      } else {
        outcome = !sig ? "not shown" : agrees ? "supported" : "contradicted";
        verdict = !sig
          ? `not shown: no significant difference (${numbers})`
          : agrees
            ? `supported: ${better} is significantly better than ${worse} (${numbers}${where})`
            : `contradicted: ${better} is significantly better than ${worse}, the opposite of the hypothesis (${numbers}${where})`;
      }
    }
    return { ...base, outcome, verdict };
  });
}

/** One synthetic source's calibrated memorization check (the evaluator's report summary). */
export interface MemorizationRow {
  source: string;
  datasetId: string;
  reportId: string;
  summary: Record<string, number>;
}

/** Both distributions of the memorization gate: real held-out slices (the reference) and each synthetic source. */
export function renderMemorization(rows: MemorizationRow[]): string {
  const f = (v: number | undefined, d = 3) => (v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(d));
  const first = rows[0]?.summary ?? {};
  const lines = [
    "## Memorization gate (calibrated on real data)",
    "",
    `Threshold = percentile ${f(first.calibrate_percentile, 0)} of the max NCC (over channels) of the ${f(first.n_held_out, 0)} real ` +
      `held-out slices to the real training slices; a fixed 0.95 would flag ${f(100 * (first.fixed_gate_flags_held_out ?? Number.NaN), 1)} % ` +
      "of those never-seen real slices. Synthetic: the first run's dataset of each source.",
    "",
    "| Images | median max NCC | p99 max NCC | NCC threshold | flagged as copies |",
    "|---|---|---|---|---|",
    `| real held-out (reference) | ${f(first.held_out_median_max_ncc)} | ${f(first.held_out_p99_max_ncc)} | ${f(first.ncc_threshold)} | ~${(100 - (first.calibrate_percentile ?? 99)).toFixed(0)} % by construction |`,
    ...rows.map(
      (r) =>
        `| ${r.source} | ${f(r.summary.synthetic_median_max_ncc)} | ${f(r.summary.synthetic_p99_max_ncc)} | ${f(r.summary.ncc_threshold)} | ${f(100 * (r.summary.memorized_fraction ?? Number.NaN), 1)} % (${f(r.summary.memorized_count, 0)} of ${f(r.summary.n_synthetic, 0)}) |`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/** The verdicts as a markdown section for report.md. */
export function renderVerdicts(verdicts: Verdict[]): string {
  const lines = [
    "## Verdicts",
    "",
    `Decided on the ${DECISION_CLASS} column (per-subject mean of NCR, ED and ET Dice), Bonferroni-corrected within the family (primary: the hypotheses; control: the controls), alpha 0.05.`,
    "",
    "| Hypothesis | A vs B | Family | Mean diff (A - B) | p (corrected) | Verdict |",
    "|---|---|---|---|---|---|",
  ];
  for (const v of verdicts) {
    const t = v.p_values[DECISION_CLASS];
    lines.push(
      `| ${v.hypothesis} | ${v.comparison.a} vs ${v.comparison.b} | ${v.comparison.family} | ${t ? fmtD(t.mean_difference) : "n/a"} | ${t ? t.p_corrected.toPrecision(3) : "n/a"} | ${v.verdict.replace(/\|/g, "\\|")} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Adds `verdicts` and each condition's role (hypothesis, baseline, control) to out/<id>/report.json and the
 * verdict table to report.md. Returns the verdicts (empty when there is no report.json to decide from).
 */
export function writeVerdicts(outDir: string, spec: ExperimentSpec, quality: MemorizationRow[] = []): Verdict[] {
  const jsonPath = join(outDir, "report.json");
  if (!existsSync(jsonPath)) return [];
  const report = JSON.parse(readFileSync(jsonPath, "utf8")) as {
    comparisons?: ComparisonRow[];
    verdicts?: Verdict[];
    condition_roles?: Record<string, string>;
    memorization?: MemorizationRow[];
  };
  const verdicts = buildVerdicts(planHypotheses(spec), report.comparisons ?? [], {
    equivalenceMargin: spec.controls.equivalenceMargin,
  });
  report.verdicts = verdicts;
  report.condition_roles = Object.fromEntries(planConditions(spec).map((c) => [c.name, c.role]));
  if (quality.length) report.memorization = quality;
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const mdPath = join(outDir, "report.md");
  const md = existsSync(mdPath) ? readFileSync(mdPath, "utf8") : "";
  const section = `${renderVerdicts(verdicts)}${quality.length ? `\n${renderMemorization(quality)}` : ""}`;
  const marker = "## Verdicts";
  const kept = md.includes(marker) ? md.slice(0, md.indexOf(marker)) : md;
  writeFileSync(mdPath, `${kept.trimEnd()}\n\n${section}`);
  return verdicts;
}
