// The partner request job: sample from the ensemble in rounds (a fresh latent seed per round, recorded per
// sample), screen every sample (anatomy, filters, memorization gate), stop once `size` samples passed, then
// write the bundle (format entries + certificate + per-sample provenance + licence) as one artifact. Nothing
// that failed a check is ever written; a job that cannot reach `size` within the draw budget fails without
// leaving a bundle.
import { createHash } from "node:crypto";
import { DEFAULT_NCC_THRESHOLD } from "@synthmri/eval";
import { type ArtifactStore, FailedPrecondition, type JobProgress } from "@synthmri/platform";
import { type AnatomyRules, DEFAULT_ANATOMY_RULES } from "./anatomy.js";

export type { CertificateDoc } from "./certificate.js";
import { ARCHIVE_FILE, BUNDLE_KIND, type ArchiveEntryInfo, type BundleFields } from "./bundle-store.js";
import { type CertificateDoc, latestQualityReport, latestUtility, NO_EVALUATION } from "./certificate.js";
import { datasetCard } from "./dataset-card.js";
import {
  type BundleFormatName,
  caseName,
  nnunetDatasetJson,
  nnunetEntries,
  nnunetFolder,
  shardEntries,
} from "./formats.js";
import type { PartnerSampler, SampleOrigin } from "./ports.js";
import { memorizationGate, type SampleFilters, screenBatch } from "./screen.js";
import { type TarEntry, writeTar } from "./tar.js";

export const PARTNER_JOB_KIND = "partner-request";

export interface PartnerSettings {
  /** Licence / usage terms attached to every bundle (the hospital's text). */
  licence: string;
  /** Ensemble used when a request names none ("" = requests must name one). */
  defaultEnsembleId: string;
  /** Ensembles offered to partners without a list of their own; empty = every trained ensemble. */
  offeredEnsembles: string[];
  nccThreshold: number;
  maxImagesPerRequest: number;
  /** A request gives up after drawing this many times its size. */
  maxDrawFactor: number;
  anatomy: AnatomyRules;
}

export const DEFAULT_PARTNER_SETTINGS: PartnerSettings = {
  licence: "",
  defaultEnsembleId: "",
  offeredEnsembles: [],
  nccThreshold: DEFAULT_NCC_THRESHOLD,
  maxImagesPerRequest: 10_000,
  maxDrawFactor: 10,
  anatomy: DEFAULT_ANATOMY_RULES,
};

export interface PartnerRequestParams {
  bundleId: string;
  partner: string;
  ensembleId: string;
  size: number;
  format: BundleFormatName;
  filters: SampleFilters;
  seed: number;
  purpose: string;
}

export interface SampleProvenanceRecord extends SampleOrigin {
  case: string;
  maxNcc: number;
  tumourFraction: number;
  labelCounts: { NCR: number; ED: number; ET: number };
}

export interface PartnerDomainDeps {
  artifacts: ArtifactStore;
  sampler: PartnerSampler;
  settings: PartnerSettings;
  provenance?: Record<string, unknown>;
  now?: () => Date;
}

export interface RequestControl {
  jobId: string;
  signal: AbortSignal;
  progress(p: JobProgress): void;
}

export interface BundleSummary {
  bundleId: string;
  delivered: number;
  entries: ArchiveEntryInfo[];
  certificate: CertificateDoc;
}

/** Round r's latent seed: distinct streams per round, all derived from (and recorded with) the request seed. */
export function roundSeed(seed: number, round: number): number {
  return (seed + Math.imul(round, 0x9e3779b1)) >>> 0;
}

export async function runPartnerRequest(
  deps: PartnerDomainDeps,
  p: PartnerRequestParams,
  ctl: RequestControl,
): Promise<BundleSummary> {
  const existing = await deps.artifacts.tryGetManifest<BundleFields>(BUNDLE_KIND, p.bundleId);
  if (existing) {
    // A job resumed after a restart whose bundle was already committed.
    return {
      bundleId: p.bundleId,
      delivered: existing.bundle.size,
      entries: existing.bundle.entries,
      certificate: existing.bundle.certificate,
    };
  }
  const s = deps.settings;
  ctl.progress({ fraction: 0, phase: "prepare", message: "loading the ensemble and the real training slices" });
  const info = await deps.sampler.describe(p.ensembleId);
  const real = await deps.sampler.realTrainSlices(info.datasetId, info.resolution, ctl.signal);
  if (real.n < 1)
    throw new FailedPrecondition(
      `dataset ${info.datasetId} has no train slices; the memorization gate needs the real training slices`,
    );
  const gate = memorizationGate(real, s.nccThreshold);

  const size = info.resolution;
  let channels = real.c;
  const per = () => size * size * channels;
  let kept = new Uint8Array(0);
  const provenance: SampleProvenanceRecord[] = [];
  let sampled = 0;
  let rejectedAnatomy = 0;
  let rejectedMemorization = 0;
  let rejectedFilters = 0;
  const anatomyReasons: Record<string, number> = {};
  const budget = p.size * s.maxDrawFactor;
  const chunks: Uint8Array[] = [];
  for (let round = 0; provenance.length < p.size && sampled < budget; round++) {
    const want = Math.min(budget - sampled, Math.max(1, p.size - provenance.length));
    for await (const batch of deps.sampler.sample(info.ensembleId, want, roundSeed(p.seed, round), ctl.signal)) {
      ctl.signal.throwIfAborted();
      channels = batch.channels;
      sampled += batch.count;
      const r = screenBatch(batch, { gate, rules: s.anatomy, filters: p.filters });
      rejectedAnatomy += r.rejectedAnatomy;
      rejectedMemorization += r.rejectedMemorization;
      rejectedFilters += r.rejectedFilters;
      for (const [k, v] of Object.entries(r.anatomyReasons)) anatomyReasons[k] = (anatomyReasons[k] ?? 0) + v;
      const n = per();
      for (const a of r.accepted) {
        if (provenance.length >= p.size) break;
        chunks.push(batch.data.slice(a.index * n, (a.index + 1) * n));
        provenance.push({
          case: caseName(provenance.length),
          ...a.origin,
          maxNcc: Math.round(a.maxNcc * 1e4) / 1e4,
          tumourFraction: Math.round(a.stats.tumourFraction * 1e4) / 1e4,
          labelCounts: { NCR: a.stats.counts[1], ED: a.stats.counts[2], ET: a.stats.counts[3] },
        });
      }
      ctl.progress({
        fraction: 0.85 * (provenance.length / p.size),
        phase: "sampling",
        message: `${provenance.length}/${p.size} passed (${sampled} sampled)`,
        metrics: { sampled, rejectedAnatomy, rejectedMemorization, rejectedFilters },
      });
      if (provenance.length >= p.size) break;
    }
  }
  if (provenance.length < p.size)
    throw new FailedPrecondition(
      `only ${provenance.length} of ${p.size} samples passed after ${sampled} draws ` +
        `(anatomy rejected ${rejectedAnatomy}, memorization gate ${rejectedMemorization}, filters ${rejectedFilters}); ` +
        "relax the filters, ask for fewer images, or use a better-trained ensemble",
    );
  kept = new Uint8Array(p.size * per());
  for (let i = 0; i < chunks.length; i++) kept.set(chunks[i], i * chunks[i].length);

  ctl.progress({ fraction: 0.87, phase: "certificate", message: "collecting utility and quality evidence" });
  const utility = await latestUtility(deps.artifacts, info.ensembleId);
  const quality: Record<string, number> = {};
  const swds = info.members.map((m) => m.swd).filter((v): v is number => v !== null && Number.isFinite(v));
  if (swds.length) quality.checkpoint_swd_x1e3_mean = swds.reduce((a, b) => a + b, 0) / swds.length;
  const qreport = await latestQualityReport(deps.artifacts, info.ensembleId);
  if (qreport) for (const [k, v] of Object.entries(qreport.summary)) quality[`report_${k}`] = v;
  quality.exported_max_ncc = Math.max(...provenance.map((x) => x.maxNcc));
  quality.exported_mean_tumour_fraction = provenance.reduce((a, x) => a + x.tumourFraction, 0) / provenance.length;

  const issuedAt = (deps.now?.() ?? new Date()).toISOString();
  const certificate: CertificateDoc = {
    ensembleId: info.ensembleId,
    reportId: utility?.reportId ?? "",
    utilityStatus: utility ? "evaluated" : NO_EVALUATION,
    utility: utility ?? null,
    diceMean: utility?.diceMean ?? {},
    diceStd: utility?.diceStd ?? {},
    pValues: utility?.pValues ?? {},
    quality,
    memorizationThreshold: s.nccThreshold,
    memorizationChannels:
      "MR channels (T1, T1ce, T2, FLAIR), normalized cross-correlation vs every real training slice",
    realTrainSlices: real.n,
    rejectedAnatomy,
    rejectedMemorization,
    rejectedFilters,
    anatomyReasons,
    anatomyRules: s.anatomy,
    sampled,
    delivered: p.size,
    seed: p.seed,
    licence: s.licence,
    issuedAt,
  };

  ctl.progress({ fraction: 0.9, phase: "bundle", message: `writing the ${p.format} bundle` });
  const samples = { count: p.size, size, channels, data: kept, cases: provenance.map((x) => x.case) };
  const certJson = Buffer.from(`${JSON.stringify(certificate, null, 2)}\n`);
  const provJson = Buffer.from(`${JSON.stringify({ bundleId: p.bundleId, samples: provenance }, null, 2)}\n`);
  const licence = Buffer.from(`${s.licence || "No licence terms configured by the hospital."}\n`);
  const datasetJson =
    p.format === "nnunet"
      ? nnunetDatasetJson(
          p.size,
          `synthmri_${p.bundleId}`,
          s.licence,
          `Synthetic BraTS-like slices from ensemble ${info.ensembleId} (bundle ${p.bundleId})`,
        )
      : undefined;
  const folder = nnunetFolder(p.bundleId);
  const card = datasetCard(certificate, {
    bundleId: p.bundleId,
    format: p.format,
    size: p.size,
    nnunetFolder: folder,
  });
  const entries: TarEntry[] = [
    { name: "README.md", data: Buffer.from(card) },
    ...(p.format === "nnunet" ? nnunetEntries(samples, datasetJson, folder) : shardEntries(samples)),
    { name: "certificate.json", data: certJson },
    { name: "provenance.json", data: provJson },
    { name: "LICENCE.txt", data: licence },
  ];
  const infos: ArchiveEntryInfo[] = [];
  let offset = 0;
  for (const e of entries) {
    offset += 512;
    infos.push({
      name: e.name,
      size: e.data.length,
      sha256: createHash("sha256").update(e.data).digest("hex"),
      offset,
    });
    offset += e.data.length + ((512 - (e.data.length % 512)) % 512);
  }
  const archive = writeTar(entries, Math.floor(Date.parse(issuedAt) / 1000));

  const writer = await deps.artifacts.beginArtifact(BUNDLE_KIND, p.bundleId);
  try {
    await writer.putFile(ARCHIVE_FILE, archive, { contentType: "application/x-tar" });
    await writer.putFile("certificate.json", certJson, { contentType: "application/json" });
    await writer.putFile("provenance.json", provJson, { contentType: "application/json" });
    if (datasetJson) await writer.putJson("dataset.json", datasetJson);
    const fields: BundleFields = {
      partner: p.partner,
      bundle: { format: p.format, size: p.size, jobId: ctl.jobId, certificate, entries: infos },
    };
    await writer.commit({
      inputs: [],
      params: { ...p },
      provenance: { ...deps.provenance, seed: p.seed, jobId: ctl.jobId },
      extra: fields as unknown as Record<string, unknown>,
    });
  } catch (e) {
    await writer.abort().catch(() => undefined);
    throw e;
  }
  ctl.progress({ fraction: 1, phase: "done", message: `${p.size} images in bundle ${p.bundleId}` });
  return { bundleId: p.bundleId, delivered: p.size, entries: infos, certificate };
}
