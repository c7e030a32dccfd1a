// Upload sessions: subjects sent with UploadSubject are prepared at once (decoded, validated, de-identified,
// reoriented, sliced: prepareSubject) and only what that made is kept, under uploads/<session>/<key>/: the
// de-identified volumes in the BraTS 2020 naming (the key is already the salted hash) and the seed-000 slices
// (prepared.smsl, with the geometry and the parameters they were made with). ImportDirectory with the session
// id assembles the dataset from them without preparing the subject again, unless the import asks for other
// preprocessing (then it prepares from the stored volumes, as it does for sessions without prepared.smsl).
import { createHash, randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { InvalidInput, NotFound, type ObjectRef, type ObjectStore } from "@synthmri/platform";
import {
  decodeShard,
  encodeShard,
  formatProblem,
  type LabelScheme,
  prepareSubject,
  ROLES,
  type Role,
  resolveSliceParams,
} from "@synthmri/volume";
import type { PreparedSubjectData, PrepareKey } from "./cohort-source.js";

export const UPLOAD_PREFIX = "uploads/";
/** The prepared slices of an uploaded subject, beside its volumes. */
export const PREPARED_FILE = "prepared.smsl";

/** Stored in the prepared shard's meta: what an import checks before it uses the slices. */
interface PreparedMeta {
  key: PrepareKey;
  shape: [number, number, number];
  affine: number[][];
}

/** zlib level of stored volumes when the server sets none (prepareSubject's default). */
const DEFAULT_GZIP_LEVEL = 6;

interface SessionInfo {
  labelScheme: LabelScheme;
  createdAt: string;
}

export interface UploadResult {
  sessionId: string;
  subjectKey: string;
  files: ObjectRef[];
  sessionSubjects: number;
}

export function checkSessionId(id: string): void {
  if (!/^up-[0-9a-f]{16}$/.test(id)) {
    throw new InvalidInput(`upload session id "${id.slice(0, 40)}" is not one UploadSubject gave out (up-<16 hex>)`);
  }
}

async function readSession(store: ObjectStore, id: string): Promise<SessionInfo> {
  checkSessionId(id);
  try {
    return JSON.parse((await store.getBuffer(`${UPLOAD_PREFIX}${id}/session.json`)).toString("utf8")) as SessionInfo;
  } catch (e) {
    if ((e as { kind?: string }).kind === "NotFound")
      throw new NotFound(`upload session "${id}" not found; start a new one`);
    throw e;
  }
}

export async function sessionSubjects(store: ObjectStore, id: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.listObjects(`${UPLOAD_PREFIX}${id}/`)) {
    const m = /\/([^/]+)\/subject\.json$/.exec(o.key);
    if (m) keys.push(m[1]);
  }
  return keys.sort();
}

/** Validates, de-identifies and stores one uploaded subject; nothing is stored when it is invalid. */
export async function addUploadedSubject(
  store: ObjectStore,
  salt: string,
  req: {
    sessionId: string;
    subjectId: string;
    labelScheme: LabelScheme;
    files: Partial<Record<Role, { name: string; bytes: Uint8Array }>>;
    /** zlib level of the stored volumes (the server's, so an import can keep them as they are) */
    gzipLevel?: number;
  },
): Promise<UploadResult> {
  if (!req.subjectId)
    throw new InvalidInput("metadata.subject_id is required (it is replaced by a salted hash before storage)");
  let sessionId = req.sessionId;
  if (sessionId) {
    const info = await readSession(store, sessionId);
    if (info.labelScheme !== req.labelScheme) {
      throw new InvalidInput(
        `upload session "${sessionId}" holds ${info.labelScheme} segmentations; upload ${req.labelScheme} ones into a new session`,
      );
    }
  }
  const key: PrepareKey = {
    scheme: req.labelScheme,
    slice: resolveSliceParams(),
    gzipLevel: req.gzipLevel ?? DEFAULT_GZIP_LEVEL,
  };
  const prepared = prepareSubject(req.subjectId, req.files, {
    scheme: key.scheme,
    salt,
    slice: key.slice,
    gzipLevel: key.gzipLevel,
  });
  if (!prepared.ok) throw new InvalidInput(prepared.problems.map(formatProblem).join("; "));
  const storedId = prepared.value.storedId;
  if (!sessionId) {
    sessionId = `up-${randomBytes(8).toString("hex")}`;
    const info: SessionInfo = { labelScheme: req.labelScheme, createdAt: new Date().toISOString() };
    await store.putObject(`${UPLOAD_PREFIX}${sessionId}/session.json`, JSON.stringify(info), {
      contentType: "application/json",
    });
  }
  const dir = `${UPLOAD_PREFIX}${sessionId}/${storedId}/`;
  const files = await Promise.all(
    ROLES.map(async (r) => {
      const bytes = prepared.value.volumes[r];
      const objectKey = `${dir}${storedId}_${r}.nii.gz`;
      await store.putObject(objectKey, bytes, { contentType: "application/gzip" });
      return {
        bucket: store.bucket,
        key: objectKey,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        size: bytes.length,
      };
    }),
  );
  const subject = prepared.value.subject;
  const meta: PreparedMeta = { key, shape: [...subject.shape], affine: subject.affine.map((row) => [...row]) };
  await store.putObject(`${dir}${PREPARED_FILE}`, encodeShard(prepared.value.slices.batch, { ...meta }), {
    contentType: "application/octet-stream",
  });
  // Written last: a subject without it is incomplete and not imported.
  await store.putObject(`${dir}subject.json`, JSON.stringify({ key: storedId, labelScheme: req.labelScheme }), {
    contentType: "application/json",
  });
  return {
    sessionId,
    subjectKey: storedId,
    files,
    sessionSubjects: (await sessionSubjects(store, sessionId)).length,
  };
}

/**
 * What UploadSubject prepared for one subject of the session, when it was prepared with exactly `want`
 * (label scheme, slice parameters, zlib level); undefined otherwise (or for a session stored before
 * prepared slices were kept), and the import prepares the subject itself.
 */
export async function readPreparedUpload(
  store: ObjectStore,
  sessionId: string,
  subjectKey: string,
  want: PrepareKey,
): Promise<PreparedSubjectData | undefined> {
  const dir = `${UPLOAD_PREFIX}${sessionId}/${subjectKey}/`;
  if (!(await store.exists(`${dir}${PREPARED_FILE}`))) return undefined;
  const shard = decodeShard(new Uint8Array(await store.getBuffer(`${dir}${PREPARED_FILE}`)), PREPARED_FILE);
  const meta = shard.meta as PreparedMeta | undefined;
  if (!meta || !isDeepStrictEqual(meta.key, want)) return undefined;
  const volumes = {} as Record<Role, Uint8Array>;
  let bytesRead = 0;
  for (const r of ROLES) {
    volumes[r] = new Uint8Array(await store.getBuffer(`${dir}${subjectKey}_${r}.nii.gz`));
    bytesRead += volumes[r].length;
  }
  const { meta: _, ...batch } = shard;
  return { storedId: subjectKey, volumes, shape: meta.shape, affine: meta.affine, batch, bytesRead };
}

/** The session's label scheme (import uses it when the request names none). */
export async function sessionLabelScheme(store: ObjectStore, id: string): Promise<LabelScheme> {
  return (await readSession(store, id)).labelScheme;
}
