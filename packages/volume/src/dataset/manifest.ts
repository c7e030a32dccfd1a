// The dataset manifest: the kind-specific fields of a `dataset` artifact's manifest.json (the platform's
// ArtifactWriter adds kind, schemaVersion, id, createdAt, inputs, params, provenance, checksums).
// One format for real datasets (ingest: per-subject volumes + slice shards) and synthetic ones
// (generator: slice shards only, provenance says which ensemble/members/seeds). See FORMAT.md.
import { FailedPrecondition, type MaskValues } from "@synthmri/core";
import type { LabelScheme } from "../cohort/labels.js";
import type { Role } from "../cohort/layouts.js";
import type { SliceParams } from "../slicing/params.js";

export const DATASET_FORMAT = "synthmri-dataset";
export const DATASET_FORMAT_VERSION = 1;
export const DATASET_KIND = "dataset";

export type DatasetSplit = "train" | "test";
export const DATASET_SPLITS: readonly DatasetSplit[] = ["train", "test"];
export type DatasetOrigin = "real" | "synthetic";
export type DatasetSourceLayout = "brats2020" | "brats2023" | "manifest" | "upload" | "generator";

/** Stored channel order: four sequences rescaled to 0-255, then the mask (0, 51 NCR, 102 ED, 204 ET). */
export const DATASET_CHANNELS = ["t1", "t1ce", "t2", "flair", "mask"] as const;
export type DatasetChannel = (typeof DATASET_CHANNELS)[number];

export interface DatasetSubject {
  /** de-identified key (salted hash); never the source id */
  key: string;
  split: DatasetSplit;
  /** shape [x, y, z] of the canonical (LPS) volume the slices were cut from (axis 2 = slice axis) */
  shape: number[];
  /** voxel -> world (RAS+ mm) affine of that canonical volume (the stored volumes/ keep the source geometry) */
  affine: number[][];
  /** voxel spacing in mm [x, y, z] of the slice grid (in-plane x, y; z between slices) */
  spacing: number[];
  /** slices kept by the preprocessing */
  sliceCount: number;
  /** de-identified NIfTI-1 .nii.gz per role, paths relative to the dataset (source geometry and datatype kept) */
  volumes: Partial<Record<Role, string>>;
}

export interface DatasetShard {
  /** path relative to the dataset, e.g. "slices/train-00000.smsl" (encodeShard format) */
  path: string;
  split: DatasetSplit;
  /** slices in the shard */
  count: number;
  /** distinct subject keys of its slices, in order of appearance */
  subjects: string[];
}

/** Preprocessing recorded with the dataset: the seed-000 slice parameters plus the final square size. */
export interface DatasetPreprocessing extends SliceParams {
  /** side of the stored square slices (after padding to padTo and downsampling) */
  size: number;
}

export interface DatasetSplitInfo {
  /** seed of the subject shuffle (splitSubjects) */
  seed: string;
  testFraction: number;
  /** subject keys per split (synthetic datasets: empty) */
  train: string[];
  test: string[];
}

/** The fields a dataset manifest carries on top of the standard artifact manifest. */
export interface DatasetFields {
  format: typeof DATASET_FORMAT;
  formatVersion: number;
  name: string;
  origin: DatasetOrigin;
  sourceLayout: DatasetSourceLayout;
  /** label scheme of the source segmentations (the shards always use mask values 51/102/204) */
  labelScheme: LabelScheme;
  /** shape of one stored slice, [height, width, channels] (uint8, NHWC in the shards) */
  sliceShape: [number, number, number];
  channels: readonly DatasetChannel[];
  /** mask value per class */
  maskValues: MaskValues;
  preprocessing: DatasetPreprocessing | null;
  split: DatasetSplitInfo;
  subjects: DatasetSubject[];
  shards: DatasetShard[];
  /** slices per split */
  sliceCounts: Record<DatasetSplit, number>;
  /** free-form labels from the request */
  labels: Record<string, string>;
}

/**
 * Checks that a manifest (already parsed JSON) is a dataset of a format this build reads and returns
 * it typed. Throws FailedPrecondition naming the dataset and what is wrong.
 */
export function asDatasetManifest<M extends { id?: string }>(manifest: M): M & DatasetFields {
  const m = manifest as M & Partial<DatasetFields>;
  const who = `dataset "${m.id ?? "?"}"`;
  if (m.format !== DATASET_FORMAT) {
    throw new FailedPrecondition(`${who}: manifest is not a ${DATASET_FORMAT} manifest (format field missing)`);
  }
  if (typeof m.formatVersion !== "number" || m.formatVersion > DATASET_FORMAT_VERSION) {
    throw new FailedPrecondition(
      `${who}: dataset format version ${m.formatVersion}; this build reads up to ${DATASET_FORMAT_VERSION}: upgrade synthmri`,
    );
  }
  if (
    !Array.isArray(m.shards) ||
    !Array.isArray(m.subjects) ||
    !Array.isArray(m.sliceShape) ||
    m.sliceShape.length !== 3 ||
    !m.split ||
    !m.sliceCounts
  ) {
    throw new FailedPrecondition(`${who}: manifest lacks shards/subjects/sliceShape/split/sliceCounts`);
  }
  return m as M & DatasetFields;
}

/** Shards of one split, in manifest order. */
export function shardsOf(fields: Pick<DatasetFields, "shards">, split: DatasetSplit | "all"): DatasetShard[] {
  return fields.shards.filter((s) => split === "all" || s.split === split);
}
