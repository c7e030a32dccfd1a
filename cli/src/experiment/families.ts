// The `families` comparison (issues 21, 22): the same experiment once per generator family on the same data (the
// data stage and the real-only U-Nets are shared through the stage cache, being the same content), then the
// families report: per family U-Net Dice on synthetic only and mixed with real with seed 000's paired tests
// against real-only, SWD and Fréchet distance, sampling time per image, and seed 004's memorization study at two
// training-set sizes (table and figure; families-measures.ts takes the measures while each family's services run).
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Writable } from "node:stream";
import { memorizationStudyFigure } from "@synthmri/eval";
import { type FamilyMeasures, measureFamily } from "./families-measures.js";
import { FAMILY_STEP_RATIO } from "./family-costs.js";
import type { SessionOptions, SessionResult } from "./session.js";
import { type ExperimentSpec, type GanFamilyName, specForFamily } from "./spec.js";

/** Rough CPU seconds per kimg of a PGAN at the preset's demo width on 2 cores (the demo preset's figure). */
const PGAN_SECONDS_PER_KIMG = 25;
/** U-Nets, synthesis and evaluation of one family's experiment (the demo preset's share without its GANs). */
const SECONDS_PER_FAMILY_REST = 300;

export function estimateFamiliesSeconds(spec: ExperimentSpec): number {
  const kimg = spec.gan.totalKimg || 7;
  const parallel = Math.max(1, Math.min(spec.gan.concurrency, spec.gan.members));
  return spec.gan.families.reduce(
    (t, f) =>
      t +
      (PGAN_SECONDS_PER_KIMG * FAMILY_STEP_RATIO[f] * kimg * spec.gan.members) / Math.min(parallel, 2) +
      SECONDS_PER_FAMILY_REST,
    0,
  );
}

export interface FamilyOutcome {
  family: GanFamilyName;
  experimentId: string;
  wallSeconds: number;
  summary: Record<string, number>;
  /** Undefined when the measurements failed as a whole (the reason is in `measureError`). */
  measures?: FamilyMeasures;
  measureError?: string;
}

const fmt = (v: number | undefined, digits = 3) => (v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits));
const fmtP = (p: number | undefined) =>
  p === undefined || !Number.isFinite(p) ? "-" : p < 0.001 ? "<0.001" : p.toFixed(3);

/** "on label-maps: 12 of 492 rejected (threshold 52.4)", or "off". */
function outlierCell(o: FamilyMeasures["outlier"]): string {
  if (!o) return "off";
  return `on ${o.filteredOn}: ${o.rejected} of ${o.rejected + o.delivered} rejected (threshold ${fmt(o.threshold, 1)})`;
}

/** Corrected p of the paired test of a vs b on `cls`, whichever way round Compare ran it. */
function pCorrected(summary: Record<string, number>, a: string, b: string, cls: string): number | undefined {
  return summary[`p_corrected_${a}_vs_${b}_${cls}`] ?? summary[`p_corrected_${b}_vs_${a}_${cls}`];
}

/**
 * Mean Dice of a condition on `cls`. The evaluator's summary holds per-class means only; "Mean" (seed 000's mean
 * over NCR, ED and ET, the class its tests are decided on) is their average.
 */
function diceOf(summary: Record<string, number>, cond: string, cls: string): number | undefined {
  const direct = summary[`dice_${cond}_${cls}`];
  if (direct !== undefined || cls !== "Mean") return direct;
  const parts = ["NCR", "ED", "ET"].map((c) => summary[`dice_${cond}_${c}`]);
  return parts.every((v) => v !== undefined) ? (parts as number[]).reduce((a, b) => a + b, 0) / 3 : undefined;
}

/** The families report: Dice with seed 000's tests, image quality, sampling time, memorization study. */
export function familiesMarkdown(spec: ExperimentSpec, outcomes: FamilyOutcome[], figure?: string): string {
  const k = Math.max(...spec.synthetic.ensembleSizes);
  const mixedK = spec.synthetic.mixWithReal.length ? Math.max(...spec.synthetic.mixWithReal) : undefined;
  const syn = `synthetic-${k}`;
  const mixed = mixedK ? `real+synthetic-${mixedK}` : undefined;
  const classes = ["Mean", "WT", "TC", "ET"];
  const dice = (o: FamilyOutcome, cond: string, cls: string) => fmt(diceOf(o.summary, cond, cls));
  const diceCols = (cond: string) => classes.map((c) => `${cond} ${c}`);
  const lines = [
    `# Generator families: ${spec.name}`,
    "",
    `Per family: ${spec.gan.members} ensemble members (same data, seed and U-Net settings), ${spec.synthetic.images} synthetic images, ` +
      `${spec.segmenter.runs} U-Net runs per condition, Dice on the real test split (${spec.data.testSubjects} subjects). ` +
      "p: Bonferroni-corrected paired sign-flip test against real-only on the per-subject mean Dice (seed 000's statistics).",
    "",
    "## U-Net Dice",
    "",
    `| family | ${[...diceCols(syn), `p ${syn} vs real`, ...(mixed ? [...diceCols(mixed), `p ${mixed} vs real`] : []), "real Mean"].join(" | ")} | wall s |`,
    `| --- | ${[...diceCols(syn), "", ...(mixed ? [...diceCols(mixed), ""] : []), ""].map(() => "---").join(" | ")} | --- |`,
    ...outcomes.map((o) => {
      const cells = [
        ...classes.map((c) => dice(o, syn, c)),
        fmtP(pCorrected(o.summary, syn, "real", "Mean")),
        ...(mixed
          ? [...classes.map((c) => dice(o, mixed, c)), fmtP(pCorrected(o.summary, mixed, "real", "Mean"))]
          : []),
        dice(o, "real", "Mean"),
      ];
      return `| ${o.family} | ${cells.join(" | ")} | ${o.wallSeconds.toFixed(0)} |`;
    }),
    "",
    "## Image quality, sampling time, memorization",
    "",
    `Synthetic (${syn}, first run's set) against the real training slices at the generators' side. SWD: Laplacian-pyramid ` +
      "sliced Wasserstein distance on 0-255 images (x1e3 is not applied); FD: Fréchet distance of a fixed random-conv " +
      "network's features (FID-like, not Inception FID). Sampling: wall ms per image through the Sample stream (after a " +
      "warm-up batch; under load). Memorization AUC: probability that a synthetic image is closer to a training slice " +
      "than a held-out real slice is (0.5 = no closer than unseen real data). Outlier filter (seed 001, " +
      "`synthetic.outlierFilter`): samples rejected of those drawn for the set, scored on the mask (PGAN path) or, " +
      "for the two-stage family, on stage 1's label maps before stage 2 (where seed 001 applied it).",
    "",
    "| family | side | SWD | FD | sampling ms/image | memorization AUC full | AUC small | syn > held-out max: full | small | outlier filter |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...outcomes.map((o) => {
      const m = o.measures;
      if (!m) return `| ${o.family} | not measured: ${o.measureError ?? "?"} ||||||||| `;
      const [full, small] = [m.memorization[0], m.memorization[1]];
      const pct = (v: number | undefined) => (v === undefined ? "-" : `${(100 * v).toFixed(1)} %`);
      return `| ${o.family} | ${m.resolution} | ${fmt(m.swd, 2)} | ${fmt(m.frechet, 2)}${m.frechetSufficient ? "" : " (few images)"} | ${fmt(m.msPerImage, 1)} | ${fmt(full?.comparison.auc)} | ${fmt(small?.comparison.auc)} | ${pct(full?.comparison.aboveHeldOutMax)} | ${pct(small?.comparison.aboveHeldOutMax)} | ${outlierCell(m.outlier)} |`;
    }),
    "",
    "## Memorization study (seed 004)",
    "",
    "Each image's maximum correlation (the four MR channels side by side, zero-mean, zero shift) to the slices its " +
      "generator trained on: synthetic images against real held-out (test) slices, the baseline. Full: the ensemble on " +
      `all training subjects; small: the control GAN on ${Math.round(spec.controls.modeDroppingFraction * 100)} % of them, ` +
      "compared with that subset only.",
    "",
    "| family | training set | subjects / slices | synthetic n | median | p95 | max | held-out n | median | p95 | max | AUC | syn > held-out p99 |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...outcomes.flatMap((o) =>
      (o.measures?.memorization ?? []).map((a) => {
        const c = a.comparison;
        return `| ${o.family} | ${a.size} | ${a.trainingSubjects} / ${a.trainingSlices} | ${c.synthetic.n} | ${fmt(c.synthetic.median)} | ${fmt(c.synthetic.p95)} | ${fmt(c.synthetic.max)} | ${c.heldOut.n} | ${fmt(c.heldOut.median)} | ${fmt(c.heldOut.p95)} | ${fmt(c.heldOut.max)} | ${fmt(c.auc)} | ${(100 * c.aboveHeldOutP99).toFixed(1)} % |`;
      }),
    ),
    "",
    ...(figure ? [`![memorization](${figure})`, ""] : []),
    ...outcomes.flatMap((o) => (o.measures?.errors ?? []).map((e) => `- ${o.family}: ${e}`)),
    "",
    `Per-family reports: ${outcomes.map((o) => `${o.family} -> out/${o.experimentId}/report.md`).join("; ")}`,
    "",
  ];
  return lines.join("\n");
}

export type RunFamilyExperiment = (
  spec: ExperimentSpec,
  extra?: Pick<SessionOptions, "afterRun">,
) => Promise<SessionResult>;

/**
 * Runs each family's experiment in turn (sessions share the stage cache), measures each while its services run,
 * and writes out/<name>-families.md (+ the memorization figure and the measures as JSON).
 */
export async function runFamilies(
  spec: ExperimentSpec,
  outRoot: string,
  runOne: RunFamilyExperiment,
  out: Writable = process.stdout,
): Promise<{ markdown: string; path: string; outcomes: FamilyOutcome[] }> {
  const est = estimateFamiliesSeconds(spec);
  out.write(
    `families: ${spec.gan.families.join(", ")} on the same data; estimated ${Math.round(est / 60)} min on 2 CPU cores\n`,
  );
  const outcomes: FamilyOutcome[] = [];
  for (const family of spec.gan.families) {
    const familySpec = specForFamily(spec, family);
    let measures: FamilyMeasures | undefined;
    let measureError: string | undefined;
    const s = await runOne(familySpec, {
      afterRun: async ({ clients, result }) => {
        out.write(`families: measuring ${family} (quality, sampling time, memorization study) ...\n`);
        try {
          measures = await measureFamily(clients, familySpec, result);
          const m = measures;
          out.write(
            `families: ${family}: SWD ${m.swd.toFixed(2)}, FD ${m.frechet.toFixed(2)}, ${m.msPerImage.toFixed(1)} ms/image, memorization AUC ${m.memorization.map((a) => `${a.size} ${a.comparison.auc.toFixed(3)}`).join(", ")}\n`,
          );
        } catch (e) {
          // The Dice table still stands without the extra measures; say why they are missing.
          measureError = (e as Error).message;
          out.write(`families: measuring ${family} failed: ${measureError}\n`);
        }
      },
    });
    outcomes.push({
      family,
      experimentId: s.experimentId,
      wallSeconds: s.wallSeconds,
      summary: s.result.report.summary,
      measures,
      measureError,
    });
    // After every family, so a long comparison stopped part-way still leaves the families it finished.
    if (outcomes.length < spec.gan.families.length) writeFamiliesReport(spec, outRoot, outcomes);
  }
  const { markdown, path } = writeFamiliesReport(spec, outRoot, outcomes);
  out.write(`${markdown}\nwritten to ${path}\n`);
  return { markdown, path, outcomes };
}

/** Writes out/<name>-families.md, its memorization figure and the measures as JSON. */
function writeFamiliesReport(
  spec: ExperimentSpec,
  outRoot: string,
  outcomes: FamilyOutcome[],
): { markdown: string; path: string } {
  const root = resolve(outRoot);
  const arms = outcomes.flatMap((o) =>
    (o.measures?.memorization ?? []).map((a) => ({
      label: `${o.family} ${a.size}`,
      synthetic: a.synthetic,
      heldOut: a.heldOut,
    })),
  );
  const figure = arms.length ? `${spec.name}-families-memorization.png` : undefined;
  if (figure) writeFileSync(join(root, figure), memorizationStudyFigure(arms));
  const markdown = familiesMarkdown(spec, outcomes, figure);
  const path = join(root, `${spec.name}-families.md`);
  writeFileSync(path, markdown);
  writeFileSync(join(root, `${spec.name}-families.json`), JSON.stringify(outcomes, null, 2));
  return { markdown, path };
}
