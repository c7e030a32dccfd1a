import { InvalidInput } from "@synthmri/core";

/** The five files of a subject, by role (internal names follow BraTS 2020). */
export type Role = "t1" | "t1ce" | "t2" | "flair" | "seg";
export const ROLES: readonly Role[] = ["t1", "t1ce", "t2", "flair", "seg"];

export type LayoutName = "brats2020" | "brats2023" | "manifest";

export interface SubjectFiles {
  subject: string;
  /** paths relative to the cohort root, by role */
  files: Partial<Record<Role, string>>;
  /** roles without a file */
  missing: Role[];
}

export interface CohortListing {
  layout: LayoutName;
  subjects: SubjectFiles[];
  /** files that looked like NIfTI but matched no subject pattern */
  ignored: string[];
}

// BraTS20_Training_001/BraTS20_Training_001_t1.nii.gz (2020 and 2021 share this naming)
const BRATS2020 = /(?:^|\/)([^/]+)_(t1|t1ce|t2|flair|seg)\.nii(?:\.gz)?$/i;
// BraTS-GLI-00001-000/BraTS-GLI-00001-000-t1n.nii.gz
const BRATS2023 = /(?:^|\/)([^/]+)-(t1n|t1c|t2w|t2f|seg)\.nii(?:\.gz)?$/i;
const ROLE_2023: Record<string, Role> = { t1n: "t1", t1c: "t1ce", t2w: "t2", t2f: "flair", seg: "seg" };
const MANIFEST_NAMES = /(?:^|\/)(manifest|cohort|subjects)\.(csv|json)$/i;

function groupBy(
  paths: string[],
  re: RegExp,
  roleOf: (s: string) => Role,
): { subjects: SubjectFiles[]; ignored: string[] } {
  const map = new Map<string, SubjectFiles>();
  const ignored: string[] = [];
  for (const p of [...paths].sort()) {
    const m = re.exec(p);
    if (!m) {
      if (/\.nii(\.gz)?$/i.test(p)) ignored.push(p);
      continue;
    }
    const subject = m[1];
    const entry = map.get(subject) ?? { subject, files: {}, missing: [] };
    entry.files[roleOf(m[2].toLowerCase())] = p;
    map.set(subject, entry);
  }
  const subjects = [...map.values()].sort((a, b) => a.subject.localeCompare(b.subject));
  for (const s of subjects) s.missing = ROLES.filter((r) => !s.files[r]);
  return { subjects, ignored };
}

/** Which layout a list of file paths (relative to the cohort root) follows. */
export function detectLayout(paths: string[]): LayoutName {
  const n2020 = paths.filter((p) => BRATS2020.test(p)).length;
  const n2023 = paths.filter((p) => BRATS2023.test(p)).length;
  if (n2020 === 0 && n2023 === 0) {
    if (paths.some((p) => MANIFEST_NAMES.test(p))) return "manifest";
    throw new InvalidInput(
      "no cohort layout recognised: expected BraTS 2020/2021 files (<id>/<id>_{t1,t1ce,t2,flair,seg}.nii.gz), BraTS 2023 files (<id>/<id>-{t1n,t1c,t2w,t2f,seg}.nii.gz) or a manifest.csv/manifest.json",
    );
  }
  return n2023 > n2020 ? "brats2023" : "brats2020";
}

/**
 * List the subjects of a cohort from its file paths. For the manifest layout pass the manifest's
 * text (`manifest`), whose paths are relative to the cohort root.
 */
export function listCohort(
  paths: string[],
  opts: { layout?: LayoutName | "auto"; manifest?: { name: string; text: string } } = {},
): CohortListing {
  const layout =
    !opts.layout || opts.layout === "auto" ? (opts.manifest ? "manifest" : detectLayout(paths)) : opts.layout;
  if (layout === "brats2020") return { layout, ...groupBy(paths, BRATS2020, (r) => r as Role) };
  if (layout === "brats2023") return { layout, ...groupBy(paths, BRATS2023, (r) => ROLE_2023[r]) };
  if (!opts.manifest)
    throw new InvalidInput(
      "layout 'manifest' needs the manifest file (CSV or JSON: subject -> t1, t1ce, t2, flair, seg)",
    );
  const subjects = parseManifest(opts.manifest.text, opts.manifest.name);
  const known = new Set(paths);
  for (const s of subjects) {
    s.missing = ROLES.filter((r) => !s.files[r] || (paths.length > 0 && !known.has(s.files[r] as string)));
  }
  return { layout, subjects, ignored: [] };
}

const ROLE_ALIASES: Record<string, Role> = {
  t1: "t1",
  t1n: "t1",
  t1ce: "t1ce",
  t1gd: "t1ce",
  t1c: "t1ce",
  t2: "t2",
  t2w: "t2",
  flair: "flair",
  t2f: "flair",
  seg: "seg",
  mask: "seg",
  label: "seg",
};

/**
 * A generic manifest: CSV with a header row `subject,t1,t1ce,t2,flair,seg` (aliases t1gd/t1c,
 * t2f, mask/label accepted), or JSON `[{subject, t1, t1ce, t2, flair, seg}]` or
 * `{subjects: [...]}` or `{ "<subject>": {t1, ...} }`.
 */
export function parseManifest(text: string, name: string): SubjectFiles[] {
  const rows: Record<string, string>[] = [];
  if (/\.json$/i.test(name) || /^\s*[[{]/.test(text)) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new InvalidInput(`${name}: manifest is not valid JSON (${(e as Error).message})`, { cause: e });
    }
    const list = Array.isArray(doc)
      ? doc
      : Array.isArray((doc as { subjects?: unknown }).subjects)
        ? (doc as { subjects: unknown[] }).subjects
        : Object.entries(doc as Record<string, object>).map(([subject, v]) => ({ subject, ...v }));
    for (const r of list) rows.push(r as Record<string, string>);
  } else {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.startsWith("#"));
    const head = (lines.shift() ?? "").split(",").map((h) => h.trim().toLowerCase());
    for (const line of lines) {
      const cells = line.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
      rows.push(Object.fromEntries(head.map((h, i) => [h, cells[i] ?? ""])));
    }
  }
  return rows.map((r, i) => {
    const subject = String(r.subject ?? r.id ?? r.subject_id ?? "").trim();
    if (!subject) throw new InvalidInput(`${name}: entry ${i + 1} has no subject id (column 'subject')`);
    const files: Partial<Record<Role, string>> = {};
    for (const [k, v] of Object.entries(r)) {
      const role = ROLE_ALIASES[k.toLowerCase()];
      if (role && typeof v === "string" && v !== "") files[role] = v;
    }
    return { subject, files, missing: ROLES.filter((role) => !files[role]) };
  });
}
