// Client-side helpers: SegmentSlices / SegmentVolume calls over the typed clients.
import { create } from "@bufbuild/protobuf";
import {
  DataType,
  LabelScheme,
  Modality,
  type SegmentSlicesRequest,
  SegmentSlicesRequestSchema,
  type SegmentVolumeRequest,
  SegmentVolumeRequestSchema,
} from "@synthmri/contracts";
import { receiveTensors, tensorFrames, typedArrayOf } from "@synthmri/rpc";
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

export type VolumeFiles = Partial<Record<"t1" | "t1ce" | "t2" | "flair", { name: string; bytes: Uint8Array }>>;

const MODALITY = { t1: Modality.T1, t1ce: Modality.T1CE, t2: Modality.T2, flair: Modality.FLAIR };

export async function segmentVolume(
  seg: Seg,
  modelId: string,
  files: VolumeFiles,
  o: { tta?: boolean; scheme?: LabelScheme } = {},
): Promise<{ nifti: Uint8Array; labelVoxels: Record<number, bigint> }> {
  async function* reqs(): AsyncGenerator<SegmentVolumeRequest> {
    yield create(SegmentVolumeRequestSchema, {
      part: { case: "config", value: { modelId, tta: o.tta, labelScheme: o.scheme ?? LabelScheme.BRATS2020 } },
    });
    for (const [role, f] of Object.entries(files)) {
      if (!f) continue;
      yield create(SegmentVolumeRequestSchema, {
        part: {
          case: "file",
          value: {
            frame: {
              case: "header",
              value: { name: f.name, modality: MODALITY[role as keyof typeof MODALITY], size: BigInt(f.bytes.length) },
            },
          },
        },
      });
      for (let off = 0; off < f.bytes.length; off += 1 << 20)
        yield create(SegmentVolumeRequestSchema, {
          part: {
            case: "file",
            value: {
              frame: { case: "chunk", value: { offset: BigInt(off), data: f.bytes.subarray(off, off + (1 << 20)) } },
            },
          },
        });
    }
  }
  const parts: Uint8Array[] = [];
  let labelVoxels: Record<number, bigint> = {};
  for await (const m of seg.segmentVolume(reqs())) {
    if (m.part.case === "summary") labelVoxels = m.part.value.labelVoxels;
    else if (m.part.case === "file" && m.part.value.frame.case === "chunk") parts.push(m.part.value.frame.value.data);
  }
  return { nifti: Buffer.concat(parts), labelVoxels };
}
