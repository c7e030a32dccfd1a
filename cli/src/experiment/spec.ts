// Experiment specs: YAML or JSON files validated against SPEC_SCHEMA (ajv), with defaults filled in and
// cross-field checks ajv cannot express. Errors name the field ("gan.members: must be >= 1").
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidInput } from "@synthmri/platform";
import { Ajv, type ErrorObject } from "ajv";
import { parse as parseYaml } from "yaml";
import type { ExecutorKind, KubernetesSpec } from "../kube/spec.js";
import { GAN_FAMILY_NAMES, SPEC_SCHEMA } from "./spec-schema.js";

export { GAN_FAMILY_NAMES };
export type GanFamilyName = (typeof GAN_FAMILY_NAMES)[number];

export interface ExperimentSpec {
  name: string;
  description?: string;
  seed: number;
  data: {
    source: "phantom" | "directory" | "dataset";
    path?: string;
    /** source: dataset — the id `synthmri ingest` printed (an already ingested cohort; no import). */
    datasetId?: string;
    phantomSubjects: number;
    phantomSize: [number, number, number];
    maxSubjects: number;
    testSubjects: number;
    sliceSize: number;
  };
  gan: {
    family: GanFamilyName;
    /** Families compared by one run (the `families` preset): one experiment per family on the same data. */
    families: GanFamilyName[];
    /** 0 = data.sliceSize. */
    resolution: number;
    members: number;
    concurrency: number;
    latentDim: number;
    kimgPerPhase: number;
    totalKimg: number;
    batchSize: number;
    learningRate: number;
    fmapMax: number;
    fmapMin: number;
    startResolution: number;
    /** Generator moving-average decay used for sampling (PGAN's Gs: 0.999); 0 = none. */
    emaDecay: number;
    /**
     * How generators that emit the mask as image channels (pgan, dcgan, lsgan, hinge, ddpm) see it: one channel on
     * the label levels, NCR/ED/ET channels, or the nested regions WT/TC/ET as channels (issue 16). stylegan2 and
     * spade2stage have one-hot classes anyway.
     */
    maskEncoding: "level" | "onehot" | "regions";
  };
  synthetic: {
    images: number;
    ensembleSizes: number[];
    mixWithReal: number[];
    outlierFilter: boolean;
    /** Seed 001's selection ("best-swd") or the latest checkpoint (absent). */
    checkpoint?: "latest" | "best-swd";
  };
  segmenter: {
    runs: number;
    epochs: number;
    iterationsPerEpoch: number;
    batchSize: number;
    depth: number;
    baseFilters: number;
    maxFilters: number;
    deepSupervision: number;
    learningRate: number;
    momentum: number;
    /** Crop side for patch-based training; 0 = whole slices. */
    patchSize: number;
    validationFraction: number;
    augmentation: boolean;
    maxSlices: number;
    /** Training length in samples (seed 000: up to 3e7); 0 = epochs x iterationsPerEpoch x batchSize. */
    trainingSamples: number;
    /** Training length limit in seconds per run (seed 000: up to 3 days); 0 = none. */
    maxTrainingSeconds: number;
    /** Which held-out slices select each run's best epoch. */
    validation: "per-source" | "real-subjects";
  };
  /** Rows that check the test itself (positive and negative controls). */
  controls: { modeDroppingFraction: number; disjointHalves: boolean; equivalenceMargin: number };
  /** Where U-Net runs train (cli/src/kube): the segmenter service, or one Kubernetes pod per run. */
  executor: ExecutorKind;
  kubernetes: KubernetesSpec;
  baselines: { intensityOnly: boolean };
  evaluation: { emptyCasePolicy: "one" | "exclude"; tta: boolean; permutationSamples: number };
}

export const PRESETS = ["demo", "paper", "families"] as const;
export type Preset = (typeof PRESETS)[number];

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTuples: false });
const validate = ajv.compile(SPEC_SCHEMA);

function fieldOf(e: ErrorObject): string {
  const base = e.instancePath.replace(/^\//, "").replace(/\//g, ".");
  const extra =
    e.keyword === "additionalProperties"
      ? (e.params as { additionalProperty: string }).additionalProperty
      : e.keyword === "required"
        ? (e.params as { missingProperty: string }).missingProperty
        : "";
  return [base, extra].filter(Boolean).join(".") || "(top level)";
}

function describe(e: ErrorObject): string {
  if (e.keyword === "additionalProperties") return "is not a known field (check the spelling)";
  if (e.keyword === "required") return "is required";
  if (e.keyword === "enum")
    return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  return e.message ?? "is invalid";
}

/** Validates a parsed spec object (defaults are filled in place on a copy). Throws InvalidInput naming every bad field. */
export function validateSpec(input: unknown, source = "spec"): ExperimentSpec {
  const spec = structuredClone(input) as unknown;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new InvalidInput(`${source}: an experiment spec must be a mapping of fields (name, data, gan, ...)`);
  }
  if (!validate(spec)) {
    const lines = (validate.errors ?? []).map((e) => `  ${fieldOf(e)}: ${describe(e)}`);
    throw new InvalidInput(`${source} is not a valid experiment spec:\n${[...new Set(lines)].join("\n")}`);
  }
  const s = spec as ExperimentSpec;
  const problems: string[] = [];
  if (s.data.source === "directory" && !s.data.path)
    problems.push("data.path: is required when data.source is directory");
  if (s.data.source === "dataset" && !s.data.datasetId)
    problems.push("data.datasetId: is required when data.source is dataset (the id 'synthmri ingest' printed)");
  if (s.data.source !== "dataset" && s.data.datasetId)
    problems.push(`data.datasetId: only applies to data.source dataset (source is ${s.data.source})`);
  if (s.data.source === "phantom" && s.data.testSubjects >= s.data.phantomSubjects) {
    problems.push(
      `data.testSubjects: ${s.data.testSubjects} leaves no training subjects of data.phantomSubjects ${s.data.phantomSubjects}`,
    );
  }
  for (const k of s.synthetic.ensembleSizes) {
    if (k > s.gan.members) problems.push(`synthetic.ensembleSizes: ${k} is more than gan.members (${s.gan.members})`);
    if (s.synthetic.images < k) problems.push(`synthetic.images: ${s.synthetic.images} cannot be split over ${k} GANs`);
  }
  for (const k of s.synthetic.mixWithReal) {
    if (!s.synthetic.ensembleSizes.includes(k)) {
      problems.push(
        `synthetic.mixWithReal: ${k} is not one of synthetic.ensembleSizes (${s.synthetic.ensembleSizes.join(", ")})`,
      );
    }
  }
  if (s.segmenter.patchSize > s.data.sliceSize) {
    problems.push(`segmenter.patchSize: ${s.segmenter.patchSize} is above data.sliceSize ${s.data.sliceSize}`);
  }
  if (s.gan.resolution > s.data.sliceSize) {
    problems.push(`gan.resolution: ${s.gan.resolution} is above data.sliceSize ${s.data.sliceSize}`);
  }
  if (s.gan.startResolution > (s.gan.resolution || s.data.sliceSize)) {
    problems.push(
      `gan.startResolution: ${s.gan.startResolution} is above the GAN resolution ${s.gan.resolution || s.data.sliceSize}`,
    );
  }
  if (s.segmenter.trainingSamples > 0 && !(s.segmenter.epochs > 0 && s.segmenter.batchSize > 0)) {
    problems.push("segmenter.trainingSamples: needs segmenter.epochs and segmenter.batchSize to be set (> 0)");
  }
  if (problems.length > 0)
    throw new InvalidInput(`${source} is not a valid experiment spec:\n  ${problems.join("\n  ")}`);
  s.synthetic.ensembleSizes = [...s.synthetic.ensembleSizes].sort((a, b) => a - b);
  s.synthetic.mixWithReal = [...s.synthetic.mixWithReal].sort((a, b) => a - b);
  return s;
}

/** Parses YAML or JSON text (JSON is YAML, but a .json file gets JSON's clearer errors). */
export function parseSpecText(text: string, source: string): unknown {
  try {
    return source.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new InvalidInput(
      `${source}: cannot parse as ${source.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message}`,
    );
  }
}

export interface SpecOverrides {
  /** --data DIR: a BraTS directory instead of the phantom cohort. */
  dataPath?: string;
  /** --dataset ID: an ingested cohort of the deployment (data.source dataset); the spec's sliceSize stays. */
  datasetId?: string;
}

/** Reads a spec file (unvalidated) so that overrides apply before validation. */
export function readSpecFile(path: string): unknown {
  const abs = resolve(path);
  if (!existsSync(abs)) {
    throw new InvalidInput(
      `spec file ${abs} does not exist (give a .yaml/.json file or --preset ${PRESETS.join("|")})`,
    );
  }
  return parseSpecText(readFileSync(abs, "utf8"), abs);
}

export function applyOverrides(raw: unknown, overrides: SpecOverrides): unknown {
  if ((!overrides.dataPath && !overrides.datasetId) || typeof raw !== "object" || raw === null) return raw;
  const r = structuredClone(raw) as Record<string, unknown>;
  const {
    path: _path,
    datasetId: _id,
    ...data
  } = (typeof r.data === "object" && r.data !== null ? r.data : {}) as Record<string, unknown>;
  r.data = overrides.datasetId
    ? { ...data, source: "dataset", datasetId: overrides.datasetId }
    : { ...data, source: "directory", path: resolve(overrides.dataPath as string) };
  return r;
}

export function loadSpecFile(path: string, overrides: SpecOverrides = {}): ExperimentSpec {
  return validateSpec(applyOverrides(readSpecFile(path), overrides), resolve(path));
}

/** experiments/<preset>.yaml at the repository root. */
export function presetPath(preset: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, "..", "..", "..", "experiments", `${preset}.yaml`);
}

export function loadPreset(preset: string, overrides: SpecOverrides = {}): ExperimentSpec {
  if (!(PRESETS as readonly string[]).includes(preset)) {
    throw new InvalidInput(`unknown preset "${preset}"; presets: ${PRESETS.join(", ")}`);
  }
  return loadSpecFile(presetPath(preset), overrides);
}

/** The spec of one family of a families comparison (its own name, so its outputs and report stand apart). */
export function specForFamily(spec: ExperimentSpec, family: GanFamilyName): ExperimentSpec {
  return { ...spec, name: `${spec.name}-${family}`, gan: { ...spec.gan, family, families: [] } };
}
