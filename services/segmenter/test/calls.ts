// Client-side helpers: SegmentSlices / SegmentVolume calls over the typed clients.
import { create } from "@bufbuild/protobuf";
import { DataType, LabelScheme, type SegmentSlicesRequest, SegmentSlicesRequestSchema } from "@synthmri/contracts";
import { receiveTensors, tensorFrames, typedArrayOf } from "@synthmri/rpc";
import { type SequenceFiles, segmentVolumeRemote } from "../src/client.js";
import type { Harness } from "./fixtures.js";

type Seg = Harness["segmenter"];

export async function segmentSlices(
  seg: Seg,
  modelId: string,
  batches: { data: Uint8Array | Float32Array; shape: number[] }[],
  o: { tta?: boolean; probabilities?: boolean; scheme?: LabelScheme; version?: number } = {},
): Promise<{ name: string; index: number; shape: number[]; data: Uint8Array | Float32Array }[]> {
  async function* reqs(): AsyncGenerator<SegmentSlicesRequest> {
    yield create(SegmentSlicesRequestSchema, {
      part: {
        case: "config",
        value: {
          modelId,
          version: o.version ?? 0,
          tta: o.tta,
          returnProbabilities: o.probabilities,
          labelScheme: o.scheme ?? LabelScheme.BRATS2020,
        },
      },
    });
    for (const [i, b] of batches.entries())
      for (const frame of tensorFrames({
        dtype: b.data instanceof Float32Array ? DataType.FLOAT32 : DataType.UINT8,
        shape: b.shape,
        data: b.data,
        index: i,
      }))
        yield create(SegmentSlicesRequestSchema, { part: { case: "frame", value: frame } });
  }
  const out = [];
  for await (const t of receiveTensors(seg.segmentSlices(reqs()), (m) => m.frame))
    out.push({ name: t.name, index: t.index, shape: t.shape, data: typedArrayOf(t) as Uint8Array | Float32Array });
  return out;
}

export type VolumeFiles = SequenceFiles;

export async function segmentVolume(
  seg: Seg,
  modelId: string,
  files: VolumeFiles,
  o: { tta?: boolean; scheme?: LabelScheme } = {},
): Promise<{ nifti: Uint8Array; labelVoxels: Record<number, bigint> }> {
  return segmentVolumeRemote(seg, modelId, files, {
    tta: o.tta,
    scheme: o.scheme === LabelScheme.BRATS2023 ? "brats2023" : "brats2020",
  });
}
