// UploadSubject: metadata, then for each of the five files a header (modality, optional size and
// sha256) and its chunks; the subject is validated and de-identified before anything is stored.
import { createHash } from "node:crypto";
import type { UploadSubjectRequest } from "@synthmri/contracts";
import { InvalidInput } from "@synthmri/platform";
import { labelSchemeFromProto, modalityFromProto } from "@synthmri/rpc";
import type { Role } from "@synthmri/volume";
import type { Ingest } from "../domain/ingest.js";
import { addUploadedSubject } from "../domain/upload-session.js";

/** Largest uploaded file accepted (a BraTS .nii.gz is a few MB; uncompressed float64 ~70 MB). */
export const MAX_UPLOAD_FILE_BYTES = 512 << 20;

interface Incoming {
  role: Role;
  name: string;
  size: number;
  sha256: string;
  parts: Uint8Array[];
  received: number;
}

function finish(f: Incoming): { name: string; bytes: Uint8Array } {
  if (f.size > 0 && f.received !== f.size) {
    throw new InvalidInput(
      `${f.name}: received ${f.received} bytes, the header announced ${f.size} (upload interrupted?)`,
    );
  }
  const bytes = Buffer.concat(f.parts);
  if (f.sha256 && createHash("sha256").update(bytes).digest("hex") !== f.sha256.toLowerCase()) {
    throw new InvalidInput(`${f.name}: sha256 does not match the header's; the file was corrupted in transit`);
  }
  return { name: f.name, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) };
}

export function uploadHandlers(ingest: Ingest) {
  return {
    async uploadSubject(requests: AsyncIterable<UploadSubjectRequest>) {
      let meta: Extract<UploadSubjectRequest["part"], { case: "metadata" }>["value"] | undefined;
      const files: Partial<Record<Role, { name: string; bytes: Uint8Array }>> = {};
      let current: Incoming | undefined;
      for await (const r of requests) {
        if (r.part.case === "metadata") {
          if (meta) throw new InvalidInput("UploadSubject: metadata must be sent once, as the first message");
          meta = r.part.value;
          continue;
        }
        if (!meta) throw new InvalidInput("UploadSubject: the first message must be the metadata");
        if (r.part.case !== "file") continue;
        const frame = r.part.value.frame;
        if (frame.case === "header") {
          if (current) files[current.role] = finish(current);
          const role = modalityFromProto(frame.value.modality);
          if (files[role]) throw new InvalidInput(`UploadSubject: the ${role} file was sent twice`);
          if (frame.value.size > BigInt(MAX_UPLOAD_FILE_BYTES)) {
            throw new InvalidInput(
              `${frame.value.name || role}: ${frame.value.size} bytes exceeds the ${MAX_UPLOAD_FILE_BYTES}-byte upload limit`,
            );
          }
          current = {
            role,
            name: frame.value.name || `${role}.nii.gz`,
            size: Number(frame.value.size),
            sha256: frame.value.sha256,
            parts: [],
            received: 0,
          };
        } else if (frame.case === "chunk") {
          if (!current) throw new InvalidInput("UploadSubject: a file chunk arrived before its file header");
          if (Number(frame.value.offset) !== current.received) {
            throw new InvalidInput(
              `${current.name}: chunk at offset ${frame.value.offset}, expected ${current.received}`,
            );
          }
          current.received += frame.value.data.length;
          if (current.received > MAX_UPLOAD_FILE_BYTES || (current.size > 0 && current.received > current.size)) {
            throw new InvalidInput(`${current.name}: more bytes than announced or allowed (${current.received})`);
          }
          // Copy: the chunk is a view into grpc's receive buffer.
          current.parts.push(Buffer.from(frame.value.data));
        }
      }
      if (!meta) throw new InvalidInput("UploadSubject: no metadata received");
      if (current) files[current.role] = finish(current);
      const r = await addUploadedSubject(ingest.deps.artifacts.objects, ingest.deps.salt, {
        sessionId: meta.uploadSessionId,
        subjectId: meta.subjectId,
        labelScheme: labelSchemeFromProto(meta.labelScheme, "brats2020"),
        files,
        gzipLevel: ingest.deps.gzipLevel,
      });
      return {
        uploadSessionId: r.sessionId,
        subjectKey: r.subjectKey,
        files: r.files.map((f) => ({ ...f, size: BigInt(f.size), contentType: "application/gzip" })),
        sessionSubjects: r.sessionSubjects,
      };
    },
  };
}
