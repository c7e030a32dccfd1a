// Upload sessions: subjects sent with UploadSubject are validated and de-identified at once, and only
// the de-identified volumes are kept, under uploads/<session>/<key>/ in the BraTS 2020 naming (the key
// is already the salted hash). ImportDirectory with the session id turns them into a dataset.
import { randomBytes } from "node:crypto";
import { InvalidInput, NotFound, type ObjectRef, type ObjectStore } from "@synthmri/platform";
import { formatProblem, type LabelScheme, prepareSubject, ROLES, type Role } from "@synthmri/volume";
import { createHash } from "node:crypto";

export const UPLOAD_PREFIX = "uploads/";

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
  const prepared = prepareSubject(req.subjectId, req.files, { scheme: req.labelScheme, salt });
  if (!prepared.ok) throw new InvalidInput(prepared.problems.map(formatProblem).join("; "));
  const key = prepared.value.storedId;
  if (!sessionId) {
    sessionId = `up-${randomBytes(8).toString("hex")}`;
    const info: SessionInfo = { labelScheme: req.labelScheme, createdAt: new Date().toISOString() };
    await store.putObject(`${UPLOAD_PREFIX}${sessionId}/session.json`, JSON.stringify(info), {
      contentType: "application/json",
    });
  }
  const dir = `${UPLOAD_PREFIX}${sessionId}/${key}/`;
  const files = await Promise.all(
    ROLES.map(async (r) => {
      const bytes = prepared.value.volumes[r];
      const objectKey = `${dir}${key}_${r}.nii.gz`;
      await store.putObject(objectKey, bytes, { contentType: "application/gzip" });
      return {
        bucket: store.bucket,
        key: objectKey,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        size: bytes.length,
      };
    }),
  );
  // Written last: a subject without it is incomplete and not imported.
  await store.putObject(`${dir}subject.json`, JSON.stringify({ key, labelScheme: req.labelScheme }), {
    contentType: "application/json",
  });
  return { sessionId, subjectKey: key, files, sessionSubjects: (await sessionSubjects(store, sessionId)).length };
}

/** The session's label scheme (import uses it when the request names none). */
export async function sessionLabelScheme(store: ObjectStore, id: string): Promise<LabelScheme> {
  return (await readSession(store, id)).labelScheme;
}
