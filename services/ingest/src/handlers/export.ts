// ExportSubject: a file header per volume, then its chunks (1 MiB).
import { create } from "@bufbuild/protobuf";
import { type ExportSubjectRequest, FileFrameSchema } from "@synthmri/contracts";
import { labelSchemeFromProto, modalityFromProto, modalityToProto } from "@synthmri/rpc";
import { createHash } from "node:crypto";
import { exportSubject } from "../domain/export-subject.js";
import type { Ingest } from "../domain/ingest.js";

const CHUNK = 1 << 20;

export function exportHandlers(ingest: Ingest) {
  return {
    async *exportSubject(req: ExportSubjectRequest) {
      for await (const f of exportSubject(ingest.deps.artifacts, {
        datasetId: req.datasetId,
        subjectKey: req.subjectKey,
        roles: req.modalities.map(modalityFromProto),
        labelScheme: labelSchemeFromProto(req.labelScheme),
      })) {
        yield {
          file: create(FileFrameSchema, {
            frame: {
              case: "header",
              value: {
                name: f.name,
                modality: modalityToProto(f.role),
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
