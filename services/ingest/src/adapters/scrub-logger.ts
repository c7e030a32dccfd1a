// Import and upload errors name the subject and file so the operator can act on them; the same messages
// reach logs through the job runner ("job failed") and the rpc logging interceptor (status details).
// Logs must not carry subject identifiers, so this wrapper masks them in every string of every field:
// "subject <id>" and NIfTI/manifest file paths (which embed the id in BraTS layouts).
// Scrubbing is linear in the text (and the text is bounded first): a pattern such as
// /[^\s…]+\.json\b/ backtracks over every start position of a long run and took minutes on a 7 MiB id.
import { boundText, type LogFields, type Logger } from "@synthmri/platform";

const SUBJECT = /\bsubject [^\s:;,()]+/g;
/** Runs of path-like characters; each run is matched once, with no backtracking across runs. */
const TOKEN = /[^\s:;,()"']+/g;
const FILE_EXTENSION = /\.(?:nii(?:\.gz)?|csv|json)\b/g;

// A path pattern in a help text ("<id>/<id>_{t1,t1ce,t2,flair,seg}.nii.gz") names no subject: kept as written, so the
// warning still tells the operator which layout was expected. Bare manifest names are not identifiers either.
const TEMPLATE = /[{}<>*]/;
const GENERIC_NAME = /^(?:manifest\.(?:csv|json)\/?)+$/;

export function scrubText(text: string): string {
  return boundText(text).replace(SUBJECT, "subject [id]").replace(TOKEN, scrubToken);
}

/** A run that contains a file name: everything up to the end of its last file extension becomes "[file]". */
function scrubToken(token: string): string {
  if (TEMPLATE.test(token) || GENERIC_NAME.test(token)) return token;
  let end = -1;
  for (const m of token.matchAll(FILE_EXTENSION)) end = m.index + m[0].length;
  return end < 0 ? token : `[file]${token.slice(end)}`;
}

function scrub(v: unknown, depth = 0): unknown {
  if (typeof v === "string") return scrubText(v);
  if (depth > 5 || v === null || typeof v !== "object") return v;
  if (v instanceof Error) {
    return { name: v.name, kind: (v as { kind?: string }).kind, message: scrubText(v.message) };
  }
  if (ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return v.map((x) => scrub(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x, depth + 1)]));
}

export function scrubbingLogger(inner: Logger): Logger {
  const f = (fields?: LogFields) => (fields ? (scrub(fields) as LogFields) : undefined);
  return {
    debug: (m, x) => inner.debug(scrubText(m), f(x)),
    info: (m, x) => inner.info(scrubText(m), f(x)),
    warn: (m, x) => inner.warn(scrubText(m), f(x)),
    error: (m, x) => inner.error(scrubText(m), f(x)),
    child: (x) => scrubbingLogger(inner.child(f(x) ?? {})),
  };
}
