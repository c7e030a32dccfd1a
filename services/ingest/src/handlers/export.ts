// ExportSubject: a file header per volume, then its chunks (1 MiB).
import { create } from "@bufbuild/protobuf";
import { type ExportSubjectRequest, FileFrameSchema, Modality } from "@synthmri/contracts";
import { createHash } from "node:crypto";
import { exportSubject } from "../domain/export-subject.js";
import type { Ingest } from "../domain/ingest.js";
import { labelSchemeOf, roleOf } from "./convert.js";

const CHUNK = 1 << 20;
const MODALITY = { t1: Modality.T1, t1ce: Modality.T1CE, t2: Modality.T2, flair: Modality.FLAIR, seg: Modality.SEG };

export function exportHandlers(ingest: Ingest) {
  return {
    async *exportSubject(req: ExportSubjectRequest) {
      for await (const f of exportSubject(ingest.deps.artifacts, {
        datasetId: req.datasetId,
        subjectKey: req.subjectKey,
        roles: req.modalities.map(roleOf),
        labelScheme: labelSchemeOf(req.labelScheme),
      })) {
        yield {
          file: create(FileFrameSchema, {
            frame: {
              case: "header",
              value: {
                name: f.name,
                modality: MODALITY[f.role],
                size: BigInt(f.bytes.length),
                sha256: createHash("sha256").update(f.bytes).digest("hex"),
                contentType: "application/gzip",
              },
            },
          }),
        };
        for (let off = 0; off < f.bytes.length; off += CHUNK) {
          yield {
            file: create(FileFrameSchema, {
              frame: { case: "chunk", value: { offset: BigInt(off), data: f.bytes.subarray(off, off + CHUNK) } },
            }),
          };
        }
      }
    },
  };
}
