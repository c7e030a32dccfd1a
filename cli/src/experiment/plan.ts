// The experiment's plan, derived from the spec alone: the training conditions (report rows), which GANs each
// U-Net run draws, the control GANs, and the hypotheses the report decides (each a paired comparison). Pure.
import { Rng } from "@synthmri/ml";
import type { ExperimentSpec } from "./spec.js";

/** The control GANs: one mode-dropping GAN and two GANs on disjoint halves of the training subjects. */
export type ControlGan = "mode-dropping" | "half-a" | "half-b";

/**
 * A dataset a condition trains on: the ingested real one; images from k members of the ensemble, drawn anew for
 * every U-Net run (so the p-values cover the choice of GAN); or images from one control GAN.
 */
export type TrainingSource =
  | { kind: "real" }
  | { kind: "synthetic"; members: number }
  | { kind: "control-gan"; gan: ControlGan };

/**
 * hypothesis: a row of the seed's Table 1; baseline: a row that no U-Net trains for (the intensity-only
 * classifier); control: a row that exists to check the test itself.
 */
export type ConditionRole = "hypothesis" | "baseline" | "control";

/** One row of the report: a name (its label), its role and the datasets its U-Nets train on. */
export interface ConditionPlan {
  name: string;
  role: ConditionRole;
  sources: TrainingSource[];
}

export const INTENSITY_BASELINE = "baseline-intensity-only";
export const CONTROL_CONDITION: Record<ControlGan, string> = {
  "mode-dropping": "control-mode-dropping-gan",
  "half-a": "control-half-a-gan",
  "half-b": "control-half-b-gan",
};

/**
 * The experiment's conditions, in report order ("real" first: the reference). A new condition is one more
 * entry here; the driver starts it as soon as all its sources exist.
 */
export function planConditions(spec: ExperimentSpec): ConditionPlan[] {
  const real: TrainingSource = { kind: "real" };
  const synthetic = (members: number): TrainingSource => ({ kind: "synthetic", members });
  const control = (gan: ControlGan): ConditionPlan => ({
    name: CONTROL_CONDITION[gan],
    role: "control",
    sources: [{ kind: "control-gan", gan }],
  });
  return [
    { name: "real", role: "hypothesis", sources: [real] },
    ...spec.synthetic.ensembleSizes.map(
      (k): ConditionPlan => ({ name: `synthetic-${k}`, role: "hypothesis", sources: [synthetic(k)] }),
    ),
    ...spec.synthetic.mixWithReal.map(
      (k): ConditionPlan => ({ name: `real+synthetic-${k}`, role: "hypothesis", sources: [real, synthetic(k)] }),
    ),
    ...(spec.baselines.intensityOnly ? [{ name: INTENSITY_BASELINE, role: "baseline" as const, sources: [] }] : []),
    ...(spec.controls.modeDroppingFraction > 0 ? [control("mode-dropping")] : []),
    ...(spec.controls.disjointHalves ? [control("half-a"), control("half-b")] : []),
  ];
}

export function conditionNames(spec: ExperimentSpec): string[] {
  return planConditions(spec).map((c) => c.name);
}

/** Seed of U-Net run r, as the segmenter derives it from a base seed (so one-run jobs pair with R-run jobs). */
export function runSeed(baseSeed: number, run: number): number {
  return (baseSeed + run * 7919) >>> 0;
}

/**
 * The ensemble members U-Net run `run` trains on for an ensemble of `size` out of `members` GANs: a seeded draw
 * of its own per (seed, run, size), so "1 GAN" is a different GAN in different runs and ensembles of different
 * sizes are not nested. Sorted member indices.
 */
export function drawMembers(seed: number, run: number, size: number, members: number): number[] {
  if (!(size >= 1 && size <= members))
    throw new RangeError(`cannot draw ${size} of ${members} GAN members (run ${run})`);
  const rng = new Rng((Math.imul(seed ^ 0x9e3779b9, 2654435761) + run * 40503 + size * 7919) >>> 0);
  const order = Array.from({ length: members }, (_, i) => i);
  for (let i = members - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order.slice(0, size).sort((a, b) => a - b);
}

/** A control GAN and the training subjects it may see (de-identified keys of the real train split). */
export interface ControlGanPlan {
  gan: ControlGan;
  subjectKeys: string[];
  /** GAN seed: the ensemble's base seed plus a control-specific offset (a configuration like any member's). */
  seed: number;
}

/**
 * The control GANs' training subjects: a seeded shuffle of the train subjects; the mode-dropping GAN sees the
 * first `modeDroppingFraction` of them (at least one), the halves split the shuffle in two disjoint sets.
 */
export function planControlGans(spec: ExperimentSpec, trainSubjectKeys: string[]): ControlGanPlan[] {
  const keys = [...trainSubjectKeys].sort();
  const rng = new Rng((spec.seed ^ 0x5bd1e995) >>> 0);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
  }
  const plans: ControlGanPlan[] = [];
  const { modeDroppingFraction, disjointHalves } = spec.controls;
  if (modeDroppingFraction > 0) {
    const n = Math.max(1, Math.round(keys.length * modeDroppingFraction));
    plans.push({ gan: "mode-dropping", subjectKeys: keys.slice(0, n).sort(), seed: (spec.seed + 1_000_001) >>> 0 });
  }
  if (disjointHalves) {
    if (keys.length < 2) throw new RangeError("disjoint halves need at least two training subjects");
    const half = Math.floor(keys.length / 2);
    plans.push({ gan: "half-a", subjectKeys: keys.slice(0, half).sort(), seed: (spec.seed + 2_000_003) >>> 0 });
    plans.push({ gan: "half-b", subjectKeys: keys.slice(half).sort(), seed: (spec.seed + 2_000_003) >>> 0 });
  }
  return plans;
}

/** A question the report answers with one paired comparison (A - B). */
export interface HypothesisPlan {
  hypothesis: string;
  a: string;
  b: string;
  /** What the seed (or the control's design) expects: A better, B better, or no difference. */
  expected: "a>b" | "b>a" | "none" | "open";
  family: "primary" | "control";
}

/**
 * Every hypothesis, in report order: real > ensemble (each ensemble size), ensemble > single GAN, N vs N/2,
 * mixed vs real; then the controls. These pairs, and only these, are tested.
 */
export function planHypotheses(spec: ExperimentSpec): HypothesisPlan[] {
  const names = new Set(conditionNames(spec));
  const sizes = spec.synthetic.ensembleSizes;
  const out: HypothesisPlan[] = [];
  for (const k of sizes)
    out.push({
      hypothesis: `real-only training beats synthetic data from ${k} GAN${k > 1 ? "s" : ""}`,
      a: "real",
      b: `synthetic-${k}`,
      expected: "a>b",
      family: "primary",
    });
  if (sizes.includes(1))
    for (const k of sizes.filter((s) => s > 1))
      out.push({
        hypothesis: `an ensemble of ${k} GANs beats a single GAN`,
        a: `synthetic-${k}`,
        b: "synthetic-1",
        expected: "a>b",
        family: "primary",
      });
  for (const k of sizes.filter((s) => s > 2 && s % 2 === 0 && sizes.includes(s / 2)))
    out.push({
      hypothesis: `${k} GANs beat ${k / 2} GANs`,
      a: `synthetic-${k}`,
      b: `synthetic-${k / 2}`,
      expected: "a>b",
      family: "primary",
    });
  for (const k of spec.synthetic.mixWithReal)
    out.push({
      hypothesis: `adding synthetic data from ${k} GAN${k > 1 ? "s" : ""} to the real data changes accuracy`,
      a: `real+synthetic-${k}`,
      b: "real",
      expected: "open",
      family: "primary",
    });
  const largest = Math.max(...sizes);
  if (names.has(CONTROL_CONDITION["mode-dropping"]))
    out.push({
      hypothesis: `positive control: the ensemble of ${largest} beats a mode-dropping GAN (trained on ${Math.round(spec.controls.modeDroppingFraction * 100)} % of the subjects)`,
      a: `synthetic-${largest}`,
      b: CONTROL_CONDITION["mode-dropping"],
      expected: "a>b",
      family: "control",
    });
  if (names.has(CONTROL_CONDITION["half-a"]))
    out.push({
      hypothesis: "negative control: two GANs of one configuration on disjoint halves of the subjects do not differ",
      a: CONTROL_CONDITION["half-a"],
      b: CONTROL_CONDITION["half-b"],
      expected: "none",
      family: "control",
    });
  return out;
}
