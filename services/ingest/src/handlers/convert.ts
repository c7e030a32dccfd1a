// Proto <-> domain conversions of the ingest contract (enums, datasets).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Dataset,
  DatasetSchema,
  Layout,
  LabelScheme as PbLabelScheme,
  Modality,
  OnError,
  Origin,
  type SlicePreprocessing,
  Split,
} from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import type { DatasetChannel, DatasetFields, LabelScheme, LayoutName, Role, SequenceName } from "@synthmri/volume";
import type { DatasetManifest } from "../domain/datasets.js";

export function labelSchemeOf(s: PbLabelScheme): LabelScheme | undefined {
  if (s === PbLabelScheme.BRATS2020) return "brats2020";
  if (s === PbLabelScheme.BRATS2023) return "brats2023";
  if (s === PbLabelScheme.UNSPECIFIED) return undefined;
  throw new InvalidInput(`label scheme ${s} is not known (use BRATS2020 or BRATS2023)`);
}

export function pbLabelScheme(s: LabelScheme): PbLabelScheme {
  return s === "brats2023" ? PbLabelScheme.BRATS2023 : PbLabelScheme.BRATS2020;
}

export function layoutOf(l: Layout): LayoutName | "auto" {
  switch (l) {
    case Layout.UNSPECIFIED:
      return "auto";
    case Layout.BRATS2020:
      return "brats2020";
    case Layout.BRATS2023:
      return "brats2023";
    case Layout.MANIFEST:
      return "manifest";
    case Layout.UPLOAD:
      return "brats2020"; // upload sessions store files in the BraTS 2020 naming
    default:
      throw new InvalidInput(`layout ${l} is not known`);
  }
}

export function pbLayout(l: DatasetFields["sourceLayout"]): Layout {
  return (
    { brats2020: Layout.BRATS2020, brats2023: Layout.BRATS2023, manifest: Layout.MANIFEST, upload: Layout.UPLOAD }[
      l as string
    ] ?? Layout.UNSPECIFIED
  );
}

export function onErrorOf(o: OnError): "fail" | "skip" {
  return o === OnError.SKIP ? "skip" : "fail";
}

export function splitOf(s: Split): "train" | "test" | "all" {
  return s === Split.TEST ? "test" : s === Split.ALL ? "all" : "train";
}

export function pbSplit(s: "train" | "test"): Split {
  return s === "test" ? Split.TEST : Split.TRAIN;
}

const MODALITY_ROLE: Record<number, Role> = {
  [Modality.T1]: "t1",
  [Modality.T1CE]: "t1ce",
  [Modality.T2]: "t2",
  [Modality.FLAIR]: "flair",
  [Modality.SEG]: "seg",
};

export function roleOf(m: Modality): Role {
  const r = MODALITY_ROLE[m];
  if (!r) throw new InvalidInput(`modality ${Modality[m] ?? m} is not one of T1, T1CE, T2, FLAIR, SEG`);
  return r;
}

export function channelOf(m: Modality): DatasetChannel {
  const r = roleOf(m);
  return r === "seg" ? "mask" : r;
}

export function sequenceOf(m: Modality): SequenceName | undefined {
  if (m === Modality.UNSPECIFIED) return undefined;
  const r = roleOf(m);
  if (r === "seg") throw new InvalidInput("preprocessing.foreground_modality cannot be SEG; pick a sequence");
  return r;
}

function pbModality(c: SequenceName | "max"): Modality {
  return { t1: Modality.T1, t1ce: Modality.T1CE, t2: Modality.T2, flair: Modality.FLAIR, max: Modality.UNSPECIFIED }[c];
}

function pbPreprocessing(m: DatasetManifest): SlicePreprocessing | undefined {
  const p = m.preprocessing;
  const params = m.params as { preprocessing?: { shardSlices?: number } };
  if (!p) return undefined;
  return {
    $typeName: "synthmri.ingest.v1.SlicePreprocessing",
    size: p.size,
    foregroundThreshold: p.intensityThreshold,
    minForegroundFraction: p.minFraction,
    foregroundModality: pbModality(p.thresholdChannel),
    shardSlices: params.preprocessing?.shardSlices ?? 0,
  };
}

export function pbDataset(m: DatasetManifest, opts: { includeSubjects: boolean; bucket: string }): Dataset {
  const prov = m.provenance ?? {};
  return create(DatasetSchema, {
    id: m.id,
    name: m.name,
    origin: m.origin === "synthetic" ? Origin.SYNTHETIC : Origin.REAL,
    labelScheme: pbLabelScheme(m.labelScheme),
    layout: pbLayout(m.sourceLayout),
    subjects: opts.includeSubjects
      ? m.subjects.map((s) => ({
          key: s.key,
          split: pbSplit(s.split),
          shape: s.shape,
          spacing: s.spacing,
          sliceCount: s.sliceCount,
        }))
      : [],
    trainSlices: m.sliceCounts.train,
    testSlices: m.sliceCounts.test,
    sliceShape: [...m.sliceShape],
    preprocessing: pbPreprocessing(m),
    split: {
      seed: Number.parseInt(m.split.seed, 10) || 0,
      testCount: m.split.test.length,
      testFraction: m.split.testFraction,
    },
    manifest: { bucket: opts.bucket, key: `dataset/${m.id}/manifest.json`, contentType: "application/json" },
    provenance: {
      kind: "dataset",
      id: m.id,
      service: String(prov.service ?? ""),
      softwareVersion: String(prov.version ?? ""),
      backend: String(prov.backend ?? ""),
      seed: typeof prov.seed === "number" ? prov.seed : 0,
      jobId: String(prov.jobId ?? ""),
      inputs: m.inputs.map((r) => ({ bucket: r.bucket, key: r.key, sha256: r.sha256, size: BigInt(r.size) })),
      params: Object.fromEntries(
        Object.entries(prov)
          .filter(([, v]) => v !== undefined && typeof v !== "object")
          .map(([k, v]) => [k, String(v)]),
      ),
      createdAt: timestampFromDate(new Date(m.createdAt)),
    },
    createdAt: timestampFromDate(new Date(m.createdAt)),
    labels: m.labels ?? {},
    schemaVersion: m.formatVersion,
  });
}
