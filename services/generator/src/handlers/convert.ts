// Proto <-> domain conversions of the generator's messages.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  CheckpointChoice,
  DataType,
  type EnsembleSchema,
  type GanConfigSchema,
  GanFamily,
  type GanConfig as ProtoGanConfig,
  JobState,
  MaskEncoding,
  type OutlierFilter,
  type SampleSource,
} from "@synthmri/contracts";
import { InvalidInput, type ObjectRef } from "@synthmri/platform";
import type { EnsembleView } from "../domain/ensembles.js";
import type { GeneratorFamily as FamilyName, TrainSettings } from "../domain/params.js";
import type { MaskEncoding as GanMaskEncoding } from "@synthmri/ml";
import type { OutlierSettings, SourceSelection } from "../domain/sampling.js";

/**
 * One proto enum <-> domain value table, both ways: from proto refuses a number the table lacks (a newer client's
 * value) with `unknown`; to proto never answers UNSPECIFIED (0) for a value another entry names.
 */
function enumTable<E extends number, V>(table: Record<E, V>, unknown: (e: number) => string) {
  const entries = Object.entries(table) as [string, V][];
  return {
    fromProto(e: E): V {
      if (!(e in table)) throw new InvalidInput(unknown(e));
      return table[e];
    },
    toProto(v: V): E {
      const hit = entries.find(([k, x]) => x === v && Number(k) !== 0);
      return (hit ? Number(hit[0]) : 0) as E;
    },
  };
}

const FAMILIES = enumTable<GanFamily, FamilyName>(
  {
    [GanFamily.UNSPECIFIED]: "pgan",
    [GanFamily.PGAN]: "pgan",
    [GanFamily.DCGAN]: "dcgan",
    [GanFamily.LSGAN]: "lsgan",
    [GanFamily.HINGE]: "hinge",
    [GanFamily.SPADE2STAGE]: "spade2stage",
    [GanFamily.STYLEGAN2]: "stylegan2",
    [GanFamily.DDPM]: "ddpm",
  },
  (f) => `GAN family ${f} is unknown; use PGAN, DCGAN, LSGAN, HINGE, SPADE2STAGE, STYLEGAN2 or DDPM`,
);

export function familyFromProto(f: GanFamily): FamilyName {
  return FAMILIES.fromProto(f);
}

export function familyToProto(f: string): GanFamily {
  return FAMILIES.toProto(f as FamilyName);
}

const MASK_ENCODINGS = enumTable<MaskEncoding, GanMaskEncoding | undefined>(
  {
    [MaskEncoding.UNSPECIFIED]: undefined,
    [MaskEncoding.LEVEL]: "level",
    [MaskEncoding.ONEHOT]: "onehot",
    [MaskEncoding.REGIONS]: "regions",
  },
  (e) => `mask_encoding ${e} is unknown; use LEVEL, ONEHOT or REGIONS`,
);

function maskEncodingFromProto(e: MaskEncoding | undefined): GanMaskEncoding | undefined {
  return e === undefined ? undefined : MASK_ENCODINGS.fromProto(e);
}

function maskEncodingToProto(e: GanMaskEncoding | undefined): MaskEncoding {
  return MASK_ENCODINGS.toProto(e);
}

/** The request's config (a decoded message, or its init shape when the experiment runner plans a cluster Job). */
export function settingsFromProto(
  family: GanFamily,
  c: ProtoGanConfig | MessageInitShape<typeof GanConfigSchema> | undefined,
): TrainSettings {
  const byRes: Record<string, number> = {};
  for (const [k, v] of Object.entries(c?.batchSizeByResolution ?? {})) byRes[k] = v;
  return {
    family: familyFromProto(family),
    resolution: c?.resolution || 256,
    startResolution: c?.startResolution || undefined,
    latentDim: c?.latentDim || undefined,
    kimgPerPhase: c?.kimgPerPhase || undefined,
    totalKimg: c?.totalKimg || undefined,
    batchSize: c?.batchSize || undefined,
    batchSizeByResolution: Object.keys(byRes).length ? byRes : undefined,
    learningRate: c?.learningRate || undefined,
    beta1: c?.beta1 || undefined,
    beta2: c?.beta2 || undefined,
    gpWeight: c?.gpWeight || undefined,
    driftEpsilon: c?.driftEpsilon || undefined,
    fmapMax: c?.fmapMax || undefined,
    fmapMin: c?.fmapMin || undefined,
    checkpointEveryKimg: c?.checkpointEveryKimg || undefined,
    qualityEveryKimg: c?.qualityEveryKimg || undefined,
    maxTrainSlices: c?.maxTrainSlices || undefined,
    trainSubjectKeys: c?.trainSubjectKeys?.length ? [...c.trainSubjectKeys] : undefined,
    generatorEmaDecay: c?.generatorEmaDecay || undefined,
    maskEncoding: maskEncodingFromProto(c?.maskEncoding),
  };
}

export function settingsToProto(s: TrainSettings) {
  const byRes: Record<number, number> = {};
  for (const [k, v] of Object.entries(s.batchSizeByResolution ?? {})) byRes[Number(k)] = v;
  return {
    resolution: s.resolution,
    startResolution: s.startResolution ?? 0,
    latentDim: s.latentDim ?? 0,
    kimgPerPhase: s.kimgPerPhase ?? 0,
    totalKimg: s.totalKimg ?? 0,
    batchSizeByResolution: byRes,
    batchSize: s.batchSize ?? 0,
    learningRate: s.learningRate ?? 0,
    beta1: s.beta1 ?? 0,
    beta2: s.beta2 ?? 0,
    gpWeight: s.gpWeight ?? 0,
    driftEpsilon: s.driftEpsilon ?? 0,
    fmapMax: s.fmapMax ?? 0,
    fmapMin: s.fmapMin ?? 0,
    checkpointEveryKimg: s.checkpointEveryKimg ?? 0,
    qualityEveryKimg: s.qualityEveryKimg ?? 0,
    maxTrainSlices: s.maxTrainSlices ?? 0,
    trainSubjectKeys: s.trainSubjectKeys ?? [],
    generatorEmaDecay: s.generatorEmaDecay ?? 0,
    maskEncoding: maskEncodingToProto(s.maskEncoding),
  };
}

export function sourceFromProto(s: SampleSource | undefined): SourceSelection {
  if (!s?.ensembleId) throw new InvalidInput("source.ensemble_id is empty: name an ensemble id or a gan id");
  return {
    ensembleId: s.ensembleId,
    members: [...s.members],
    memberCount: s.memberCount,
    checkpoint: s.checkpoint === CheckpointChoice.BEST_SWD ? "best-swd" : "latest",
  };
}

export function outlierFromProto(o: OutlierFilter | undefined): OutlierSettings | undefined {
  if (!o?.enabled) return undefined;
  return {
    enabled: true,
    threshold: o.threshold || undefined,
    referenceDatasetId: o.referenceDatasetId || undefined,
    calibratePercentile: o.calibratePercentile || undefined,
  };
}

export function dtypeFromProto(d: DataType): "uint8" | "float32" {
  if (d === DataType.UNSPECIFIED || d === DataType.UINT8) return "uint8";
  if (d === DataType.FLOAT32) return "float32";
  throw new InvalidInput(`dtype ${DataType[d] ?? d} is not offered; use UINT8 or FLOAT32`);
}

export function refToProto(r: ObjectRef, contentType = "application/json") {
  return { bucket: r.bucket, key: r.key, sha256: r.sha256, size: BigInt(r.size), contentType };
}

const STATE: Record<string, JobState> = {
  QUEUED: JobState.QUEUED,
  RUNNING: JobState.RUNNING,
  SUCCEEDED: JobState.SUCCEEDED,
  FAILED: JobState.FAILED,
  CANCELLED: JobState.CANCELLED,
};

export function ensembleToProto(v: EnsembleView): MessageInitShape<typeof EnsembleSchema> {
  const r = v.record;
  return {
    id: r.id,
    name: r.name,
    datasetId: r.datasetId,
    family: familyToProto(r.settings.family),
    config: settingsToProto(r.settings),
    baseSeed: r.baseSeed,
    members: v.members.map((m) => ({
      index: m.index,
      seed: m.seed,
      jobId: m.jobId,
      state: STATE[m.state] ?? JobState.UNSPECIFIED,
      checkpoint: m.checkpoint ? refToProto(m.checkpoint) : undefined,
      kimg: m.checkpointFields?.kimg ?? 0,
      resolution: m.checkpointFields?.resolution ?? 0,
      swd: m.checkpointFields?.swd ?? 0,
      ganId: m.ganId,
    })),
    manifest: v.manifest ? refToProto(v.manifest) : undefined,
    createdAt: timestampFromDate(new Date(r.createdAt)),
    jobId: r.jobId,
  };
}
