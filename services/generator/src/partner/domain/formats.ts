// The two delivery formats, as archive entries.
// nnU-Net raw (v2: a DatasetNNN_Name/ folder, 2D data stored as W x H x 1 NIfTI): imagesTr/case_XXXX_000C.nii.gz per MR
// channel (0 T1, 1 T1ce, 2 T2, 3 FLAIR; uint8 0-255 as sampled), labelsTr/case_XXXX.nii.gz (internal labels
// 0 bg, 1 NCR, 2 ED, 3 ET) and dataset.json with region-based labels (whole tumour {1,2,3}, tumour core {1,3},
// enhancing tumour {3}; regions_class_order maps them back to ED, NCR, ET) as nnU-Net's own BraTS datasets do.
// Tensor shards: the dataset slice-shard format of @synthmri/volume (uint8 NHWC, mask at 0/51/102/204),
// `shards/train-XXXXX.shard` of up to 256 slices plus shards/index.json.
import { labelOfMaskLevel, MASK_LEVELS_255 } from "@synthmri/core";
import { encodeShard, writeNifti } from "@synthmri/volume";
import type { TarEntry } from "./tar.js";

export type BundleFormatName = "nnunet" | "tensor-shards";

export const MR_CHANNEL_NAMES = ["T1", "T1ce", "T2", "FLAIR"] as const;
export const SHARD_SLICES = 256;

export interface ExportSamples {
  count: number;
  size: number;
  channels: number;
  /** uint8 NHWC, mask last. */
  data: Uint8Array;
  /** Case names (case_XXXX), one per sample. */
  cases: string[];
}

export function caseName(i: number): string {
  return `case_${String(i).padStart(4, "0")}`;
}

/** RAS affine of a 1 mm grid whose voxel (0,0) is the top-left pixel of the LPS-canonical slice. */
const AFFINE = [
  [-1, 0, 0, 0],
  [0, -1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];

/** One channel of a sample as a W x H x 1 NIfTI (x fastest = along a row). */
function channelPlane(s: ExportSamples, i: number, c: number, toLabel: boolean): Uint8Array {
  const px = s.size * s.size;
  const out = new Uint8Array(px);
  const base = i * px * s.channels;
  for (let p = 0; p < px; p++) {
    const v = s.data[base + p * s.channels + c];
    out[p] = toLabel ? (labelOfMaskLevel(v) ?? 0) : v;
  }
  return out;
}

/**
 * nnU-Net v2's folder name, DatasetNNN_Name. NNN in 500-999 from the bundle id (the range nnU-Net leaves to users'
 * own datasets), so a partner's bundles rarely collide in one nnUNet_raw; renaming the folder is harmless.
 */
export function nnunetFolder(bundleId: string): string {
  let h = 0;
  for (const ch of bundleId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const tag = bundleId.replace(/[^A-Za-z0-9]/g, "").slice(-8);
  return `Dataset${500 + (h % 500)}_SynthMRI${tag}`;
}

export function nnunetDatasetJson(count: number, name: string, licence: string, description: string) {
  return {
    name,
    description,
    licence,
    reference: "synthmri partner bundle",
    release: "1.0",
    channel_names: Object.fromEntries(MR_CHANNEL_NAMES.map((n, i) => [String(i), n])),
    labels: { background: 0, "whole tumour": [1, 2, 3], "tumour core": [1, 3], "enhancing tumour": [3] },
    regions_class_order: [2, 1, 3],
    numTraining: count,
    file_ending: ".nii.gz",
    label_definitions: { "1": "NCR (necrotic core)", "2": "ED (oedema)", "3": "ET (enhancing tumour)" },
  };
}

/** The nnU-Net v2 raw dataset under `folder/` (nnunetFolder). */
export function nnunetEntries(s: ExportSamples, datasetJson: unknown, folder: string): TarEntry[] {
  const entries: TarEntry[] = [];
  const mr = s.channels - 1;
  for (let i = 0; i < s.count; i++) {
    for (let c = 0; c < mr; c++) {
      entries.push({
        name: `${folder}/imagesTr/${s.cases[i]}_${String(c).padStart(4, "0")}.nii.gz`,
        data: writeNifti({
          shape: [s.size, s.size, 1],
          data: channelPlane(s, i, c, false),
          affine: AFFINE,
          descrip: "synthmri synthetic",
        }),
      });
    }
    entries.push({
      name: `${folder}/labelsTr/${s.cases[i]}.nii.gz`,
      data: writeNifti({
        shape: [s.size, s.size, 1],
        data: channelPlane(s, i, mr, true),
        affine: AFFINE,
        descrip: "synthmri synthetic",
      }),
    });
  }
  entries.push({ name: `${folder}/dataset.json`, data: Buffer.from(`${JSON.stringify(datasetJson, null, 2)}\n`) });
  return entries;
}

export function shardEntries(s: ExportSamples): TarEntry[] {
  const entries: TarEntry[] = [];
  const per = s.size * s.size * s.channels;
  const shards: { file: string; count: number; firstCase: string }[] = [];
  for (let start = 0, k = 0; start < s.count; start += SHARD_SLICES, k++) {
    const n = Math.min(SHARD_SLICES, s.count - start);
    const file = `shards/train-${String(k).padStart(5, "0")}.shard`;
    entries.push({
      name: file,
      data: encodeShard(
        {
          height: s.size,
          width: s.size,
          channels: s.channels,
          count: n,
          data: s.data.subarray(start * per, (start + n) * per),
          sliceIndex: Array.from({ length: n }, (_, j) => start + j),
          subject: s.cases.slice(start, start + n),
        },
        { synthetic: true },
      ),
    });
    shards.push({ file, count: n, firstCase: s.cases[start] });
  }
  const index = {
    format: "synthmri-slice-shard",
    channels: ["t1", "t1ce", "t2", "flair", "mask"],
    maskLevels: Object.fromEntries(MASK_LEVELS_255.map((v, label) => [String(v), label])),
    labels: { "0": "background", "1": "NCR", "2": "ED", "3": "ET" },
    size: s.size,
    count: s.count,
    shards,
  };
  entries.push({ name: "shards/index.json", data: Buffer.from(`${JSON.stringify(index, null, 2)}\n`) });
  return entries;
}
