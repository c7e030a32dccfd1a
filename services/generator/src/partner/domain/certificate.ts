// The utility evidence of a bundle: the newest evaluator `compare` report with a condition whose runs descend
// from this ensemble (the evaluation's lineage of manifest inputs mentions the ensemble id: evaluation ->
// segmentation model -> synthetic dataset -> ensemble). From it: that condition's train-on-synthetic /
// test-on-real Dice mean and std per class, and its corrected p-values against the report's baseline (the
// real-only condition). No such report -> the certificate says "no evaluation yet" explicitly.
import type { ArtifactStore, Manifest } from "@synthmri/platform";
import type { AnatomyRules } from "./anatomy.js";

export interface UtilityEvidence {
  reportId: string;
  condition: string;
  baseline: string;
  reportCreatedAt: string;
  diceMean: Record<string, number>;
  diceStd: Record<string, number>;
  pValues: Record<string, number>;
}

export const NO_EVALUATION = "no evaluation yet";

/** certificate.json of a bundle (also in its manifest and, as a proto Certificate, in GetBundle). */
export interface CertificateDoc {
  ensembleId: string;
  /** "" with utilityStatus "no evaluation yet" when no evaluator report covers the ensemble. */
  reportId: string;
  utilityStatus: "evaluated" | typeof NO_EVALUATION;
  utility: UtilityEvidence | null;
  diceMean: Record<string, number>;
  diceStd: Record<string, number>;
  pValues: Record<string, number>;
  quality: Record<string, number>;
  memorizationThreshold: number;
  memorizationChannels: string;
  realTrainSlices: number;
  rejectedAnatomy: number;
  rejectedMemorization: number;
  rejectedFilters: number;
  anatomyReasons: Record<string, number>;
  anatomyRules: AnatomyRules;
  sampled: number;
  delivered: number;
  seed: number;
  licence: string;
  issuedAt: string;
}

/** Lineage depth followed from an evaluation (evaluation -> model -> dataset -> checkpoint/ensemble). */
const MAX_DEPTH = 5;

interface ReportJson {
  baseline?: string;
  conditions?: { name: string; dice?: Record<string, { mean: number; std: number }> }[];
  comparisons?: { a: string; b: string; class: string; p_value: number; p_corrected?: number }[];
}

export class LineageIndex {
  private readonly cache = new Map<string, boolean>();

  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly ensembleId: string,
  ) {}

  /** Whether the artifact's manifest (or an input's, recursively) names the ensemble. */
  async mentions(kind: string, id: string, depth = 0): Promise<boolean> {
    const key = `${kind}/${id}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let result = false;
    const manifest = await this.artifacts.tryGetManifest(kind, id).catch(() => undefined);
    if (manifest) {
      const { checksums: _c, ...rest } = manifest;
      if (JSON.stringify(rest).includes(this.ensembleId)) result = true;
      else if (depth < MAX_DEPTH) {
        for (const input of manifest.inputs ?? []) {
          const m = /^([a-z][a-z0-9-]*)\/([^/]+)\/manifest\.json$/.exec(input.key);
          if (m && (await this.mentions(m[1], m[2], depth + 1))) {
            result = true;
            break;
          }
        }
      }
    }
    this.cache.set(key, result);
    return result;
  }
}

/** Newest report of a kind first. */
async function reportsNewestFirst(artifacts: ArtifactStore) {
  const list = await artifacts.listArtifacts("report");
  return list.sort((a, b) => b.committedAt.getTime() - a.committedAt.getTime());
}

export async function latestUtility(
  artifacts: ArtifactStore,
  ensembleId: string,
): Promise<UtilityEvidence | undefined> {
  const lineage = new LineageIndex(artifacts, ensembleId);
  for (const info of await reportsNewestFirst(artifacts)) {
    const manifest = (await artifacts.tryGetManifest("report", info.id)) as
      | Manifest<{ report?: { kind?: string } }>
      | undefined;
    if (manifest?.report?.kind !== "compare") continue;
    const conditions = (manifest.params.conditions ?? []) as { name: string; evaluationIds: string[] }[];
    for (const c of conditions) {
      let mentioned = false;
      for (const e of c.evaluationIds ?? []) if (await lineage.mentions("evaluation", e)) mentioned = true;
      if (!mentioned) continue;
      const json = (await artifacts.readJson("report", info.id, "report.json")) as ReportJson;
      const row = json.conditions?.find((x) => x.name === c.name);
      if (!row) continue;
      const baseline = json.baseline ?? "";
      const diceMean: Record<string, number> = {};
      const diceStd: Record<string, number> = {};
      for (const [cls, v] of Object.entries(row.dice ?? {})) {
        diceMean[cls] = v.mean;
        diceStd[cls] = v.std;
      }
      const pValues: Record<string, number> = {};
      for (const cmp of json.comparisons ?? []) {
        if ((cmp.a === c.name && cmp.b === baseline) || (cmp.b === c.name && cmp.a === baseline))
          pValues[cmp.class] = cmp.p_corrected ?? cmp.p_value;
      }
      return {
        reportId: info.id,
        condition: c.name,
        baseline,
        reportCreatedAt: manifest.createdAt,
        diceMean,
        diceStd,
        pValues,
      };
    }
  }
  return undefined;
}

/** Headline numbers of the newest `quality` report whose inputs descend from the ensemble, if any. */
export async function latestQualityReport(
  artifacts: ArtifactStore,
  ensembleId: string,
): Promise<{ reportId: string; summary: Record<string, number> } | undefined> {
  const lineage = new LineageIndex(artifacts, ensembleId);
  for (const info of await reportsNewestFirst(artifacts)) {
    const manifest = (await artifacts.tryGetManifest("report", info.id)) as
      | Manifest<{ report?: { kind?: string; summary?: Record<string, number> } }>
      | undefined;
    if (manifest?.report?.kind !== "quality") continue;
    if (await lineage.mentions("report", info.id)) return { reportId: info.id, summary: manifest.report.summary ?? {} };
  }
  return undefined;
}

/** Max-NCC percentiles of a generator's samples vs the real baseline (held-out slices), from a memorization report. */
export interface MemorizationEvidence {
  reportId: string;
  syntheticSamples: number;
  realTrainSlices: number;
  realHeldOutSlices: number;
  /** "p50", "p95", "p99", "max" of the synthetic samples' max NCC to a training slice. */
  syntheticMaxNcc: Record<string, number>;
  /** The same for real held-out slices; empty when the report was not calibrated. */
  realHeldOutMaxNcc: Record<string, number>;
  nccThreshold: number;
  flaggedFraction: number;
}

interface MemorizationJson {
  n_synthetic?: number;
  n_real?: number;
  ncc_threshold?: number;
  synthetic_max_ncc?: { n: number; quantiles: { q: number; value: number }[] };
  calibration?: { held_out_max_ncc?: { n: number; quantiles: { q: number; value: number }[] } };
}

const PERCENTILE_KEYS: [number, string][] = [
  [0.5, "p50"],
  [0.95, "p95"],
  [0.99, "p99"],
  [1, "max"],
];

function percentiles(d: { quantiles: { q: number; value: number }[] } | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [q, key] of PERCENTILE_KEYS) {
    const v = d?.quantiles.find((x) => x.q === q)?.value;
    if (typeof v === "number" && Number.isFinite(v)) out[key] = v;
  }
  return out;
}

/** The newest evaluator `memorization` report whose synthetic data descends from the ensemble, if any. */
export async function latestMemorization(
  artifacts: ArtifactStore,
  ensembleId: string,
): Promise<MemorizationEvidence | undefined> {
  const lineage = new LineageIndex(artifacts, ensembleId);
  for (const info of await reportsNewestFirst(artifacts)) {
    const manifest = (await artifacts.tryGetManifest("report", info.id)) as
      | Manifest<{ report?: { kind?: string; summary?: Record<string, number> } }>
      | undefined;
    if (manifest?.report?.kind !== "memorization") continue;
    if (!(await lineage.mentions("report", info.id))) continue;
    const json = (await artifacts.readJson("report", info.id, "report.json")) as MemorizationJson;
    const summary = manifest.report.summary ?? {};
    return {
      reportId: info.id,
      syntheticSamples: json.n_synthetic ?? summary.n_synthetic ?? 0,
      realTrainSlices: json.n_real ?? summary.n_real ?? 0,
      realHeldOutSlices: json.calibration?.held_out_max_ncc?.n ?? 0,
      syntheticMaxNcc: percentiles(json.synthetic_max_ncc),
      realHeldOutMaxNcc: percentiles(json.calibration?.held_out_max_ncc),
      nccThreshold: json.ncc_threshold ?? summary.ncc_threshold ?? 0,
      flaggedFraction: summary.memorized_fraction ?? 0,
    };
  }
  return undefined;
}
