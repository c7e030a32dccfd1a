// SegmentVolume: config, then four NIfTI files (header.modality = T1, T1CE, T2, FLAIR, then chunks); the
// summary and the label NIfTI (modality SEG) come back as file frames.
import { create } from "@bufbuild/protobuf";
import {
  Modality,
  type SegmentVolumeRequest,
  type SegmentVolumeResponse,
  SegmentVolumeResponseSchema,
} from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { type CallContext, labelSchemeFromProto, sequenceFromProto } from "@synthmri/rpc";
import { type SequenceRole, segmentVolumeFiles } from "../domain/volume-inference.js";
import type { SegmenterDeps } from "../deps.js";
import { firstAndRest } from "./stream-util.js";

const MAX_FILE_BYTES = 1 << 30;
const CHUNK = 1 << 20;

/** Reassembles the file frames into the four sequences, checking offsets and sizes. */
async function receiveFiles(rest: AsyncIterable<SegmentVolumeRequest>) {
  const files: Partial<Record<SequenceRole, { name: string; bytes: Uint8Array }>> = {};
  let cur: { role: SequenceRole; name: string; parts: Uint8Array[]; size: number; expected: number } | undefined;
  const close = () => {
    if (!cur) return;
    if (cur.expected && cur.size !== cur.expected)
      throw new InvalidInput(`file ${cur.name}: header announced ${cur.expected} bytes, ${cur.size} arrived`);
    files[cur.role] = { name: cur.name, bytes: Buffer.concat(cur.parts) };
    cur = undefined;
  };
  for await (const m of rest) {
    if (m.part.case !== "file") throw new InvalidInput("SegmentVolume: only file frames may follow the config");
    const f = m.part.value.frame;
    if (f.case === "header") {
      close();
      const role: SequenceRole | undefined = sequenceFromProto(f.value.modality);
      if (!role)
        throw new InvalidInput(
          `file ${f.value.name || "?"}: modality ${Modality[f.value.modality]} is not a sequence; send T1, T1CE, T2 and FLAIR`,
        );
      if (files[role]) throw new InvalidInput(`${role} was sent twice; send each of T1, T1CE, T2, FLAIR once`);
      const expected = Number(f.value.size);
      if (expected > MAX_FILE_BYTES)
        throw new InvalidInput(`file ${f.value.name}: ${expected} bytes is over the 1 GiB limit`);
      cur = { role, name: f.value.name || `${role}.nii.gz`, parts: [], size: 0, expected };
    } else if (f.case === "chunk") {
      if (!cur) throw new InvalidInput("SegmentVolume: a file chunk arrived before its file header");
      if (Number(f.value.offset) !== cur.size)
        throw new InvalidInput(`file ${cur.name}: chunk at offset ${f.value.offset}, expected ${cur.size}`);
      cur.parts.push(Buffer.from(f.value.data));
      cur.size += f.value.data.byteLength;
      if (cur.size > MAX_FILE_BYTES) throw new InvalidInput(`file ${cur.name} exceeds the 1 GiB limit`);
    }
  }
  close();
  const missing = (["t1", "t1ce", "t2", "flair"] as const).filter((r) => !files[r]);
  if (missing.length)
    throw new InvalidInput(`SegmentVolume needs 4 sequences (T1, T1CE, T2, FLAIR); missing ${missing.join(", ")}`);
  return files as Record<SequenceRole, { name: string; bytes: Uint8Array }>;
}

export function segmentVolumeHandler(deps: SegmenterDeps) {
  return async function* segmentVolume(
    requests: AsyncIterable<SegmentVolumeRequest>,
    ctx: CallContext,
  ): AsyncGenerator<SegmentVolumeResponse> {
    const { first, rest } = await firstAndRest(requests, "SegmentVolume");
    if (first.part.case !== "config")
      throw new InvalidInput("SegmentVolume: the first message must be the config (model_id, ...), then the files");
    const cfg = first.part.value;
    const model = deps.registry.hold(await deps.registry.resolve(cfg.modelId, cfg.version));
    let out: Awaited<ReturnType<typeof segmentVolumeFiles>>;
    try {
      const files = await receiveFiles(rest);
      out = await segmentVolumeFiles(model, files, {
        scheme: labelSchemeFromProto(cfg.labelScheme, "brats2020"),
        tta: cfg.tta,
        batchSize: cfg.batchSize,
        signal: ctx.signal,
      });
    } finally {
      deps.registry.release(model);
    }
    const labelVoxels: Record<number, bigint> = {};
    for (const [k, v] of out.labelVoxels) labelVoxels[k] = BigInt(v);
    yield create(SegmentVolumeResponseSchema, {
      part: {
        case: "summary",
        value: {
          labelVoxels,
          inferenceSeconds: out.inferenceSeconds,
          modelId: model.manifest.model.id,
          version: model.manifest.model.version,
        },
      },
    });
    yield create(SegmentVolumeResponseSchema, {
      part: {
        case: "file",
        value: {
          frame: {
            case: "header",
            value: {
              name: "seg.nii.gz",
              modality: Modality.SEG,
              size: BigInt(out.nifti.length),
              contentType: "application/gzip",
            },
          },
        },
      },
    });
    for (let o = 0; o < out.nifti.length; o += CHUNK)
      yield create(SegmentVolumeResponseSchema, {
        part: {
          case: "file",
          value: { frame: { case: "chunk", value: { offset: BigInt(o), data: out.nifti.subarray(o, o + CHUNK) } } },
        },
      });
  };
}
