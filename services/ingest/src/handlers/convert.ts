// Proto <-> domain conversions of the ingest contract (its own enums, datasets); the enums shared by several
// contracts (Split, LabelScheme, Modality) convert in @synthmri/rpc.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Dataset,
  DatasetSchema,
  Layout,
  Modality,
  OnError,
  Origin,
  type SlicePreprocessing,
} from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { labelSchemeToProto, modalityFromProto, modalityToProto, splitToProto } from "@synthmri/rpc";
import type { DatasetChannel, DatasetFields, LayoutName, SequenceName } from "@synthmri/volume";
import type { DatasetManifest } from "../domain/datasets.js";

export function layoutFromProto(l: Layout): LayoutName | "auto" {
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

export function layoutToProto(l: DatasetFields["sourceLayout"]): Layout {
  return (
    { brats2020: Layout.BRATS2020, brats2023: Layout.BRATS2023, manifest: Layout.MANIFEST, upload: Layout.UPLOAD }[
      l as string
    ] ?? Layout.UNSPECIFIED
  );
}

export function onErrorFromProto(o: OnError): "fail" | "skip" {
  return o === OnError.SKIP ? "skip" : "fail";
}

export function channelFromProto(m: Modality): DatasetChannel {
  const r = modalityFromProto(m);
  return r === "seg" ? "mask" : r;
}

/** The foreground sequence of the preprocessing options; UNSPECIFIED = the default (undefined). */
export function foregroundSequenceFromProto(m: Modality): SequenceName | undefined {
  if (m === Modality.UNSPECIFIED) return undefined;
  const r = modalityFromProto(m);
  if (r === "seg") throw new InvalidInput("preprocessing.foreground_modality cannot be SEG; pick a sequence");
  return r;
}

function preprocessingToProto(m: DatasetManifest): SlicePreprocessing | undefined {
  const p = m.preprocessing;
  const params = m.params as { preprocessing?: { shardSlices?: number } };
  if (!p) return undefined;
  return {
    $typeName: "synthmri.ingest.v1.SlicePreprocessing",
    size: p.size,
    foregroundThreshold: p.intensityThreshold,
    minForegroundFraction: p.minFraction,
    foregroundModality: p.thresholdChannel === "max" ? Modality.UNSPECIFIED : modalityToProto(p.thresholdChannel),
    shardSlices: params.preprocessing?.shardSlices ?? 0,
  };
}

export function datasetToProto(m: DatasetManifest, opts: { includeSubjects: boolean; bucket: string }): Dataset {
  const prov = m.provenance ?? {};
  return create(DatasetSchema, {
    id: m.id,
    name: m.name,
    origin: m.origin === "synthetic" ? Origin.SYNTHETIC : Origin.REAL,
    labelScheme: labelSchemeToProto(m.labelScheme),
    layout: layoutToProto(m.sourceLayout),
    subjects: opts.includeSubjects
      ? m.subjects.map((s) => ({
          key: s.key,
          split: splitToProto(s.split),
          shape: s.shape,
          spacing: s.spacing,
          sliceCount: s.sliceCount,
        }))
      : [],
    trainSlices: m.sliceCounts.train,
    testSlices: m.sliceCounts.test,
    sliceShape: [...m.sliceShape],
    preprocessing: preprocessingToProto(m),
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
