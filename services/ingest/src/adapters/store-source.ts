// A cohort under an object-store prefix (any bucket the configured credentials reach), and upload
// sessions (complete subjects only).
import { InvalidInput, type ObjectStore } from "@synthmri/platform";
import { type CohortSource, MAX_SOURCE_FILE_BYTES } from "../domain/cohort-source.js";
import { checkSessionId, readPreparedUpload, sessionSubjects, UPLOAD_PREFIX } from "../domain/upload-session.js";

export function prefixSource(store: ObjectStore, prefix: string, filter?: (rel: string) => boolean): CohortSource {
  const base = prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix;
  return {
    description: `s3://${store.bucket}/${base}`,
    async list() {
      const out: string[] = [];
      for await (const o of store.listObjects(base)) {
        const rel = o.key.slice(base.length);
        if (o.size > MAX_SOURCE_FILE_BYTES) continue;
        if (!filter || filter(rel)) out.push(rel);
      }
      return out.sort();
    },
    async read(rel) {
      return new Uint8Array(await store.getBuffer(base + rel));
    },
  };
}

export async function uploadSessionSource(store: ObjectStore, sessionId: string): Promise<CohortSource> {
  checkSessionId(sessionId);
  const complete = new Set(await sessionSubjects(store, sessionId));
  if (complete.size === 0) throw new InvalidInput(`upload session "${sessionId}" has no complete subject to import`);
  const src = prefixSource(
    store,
    `${UPLOAD_PREFIX}${sessionId}/`,
    (rel) => complete.has(rel.split("/")[0]) && rel.endsWith(".nii.gz"),
  );
  return {
    ...src,
    description: `upload session ${sessionId}`,
    // Subjects are listed under their key (the directory name), so the subject name is the key.
    readPrepared: (subject, key) => readPreparedUpload(store, sessionId, subject, key),
  };
}
