// The `report` artifact shared by compare, quality and memorization reports: report.md, report.json, CSVs and
// PNGs under report/<id>/, manifest.json last (with the headline numbers), optionally mirrored to a local
// directory of the evaluator host.
import { mkdir, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { InvalidInput, type ArtifactStore, type Manifest, type ObjectRef } from "@synthmri/platform";

export const REPORT_KIND = "report";
export type ReportKind = "compare" | "quality" | "memorization";

export interface ReportFiles {
  /** File name -> contents; must include report.md and report.json. */
  [name: string]: string | Buffer;
}

export interface ReportMeta {
  kind: ReportKind;
  /** Headline numbers (finite only). */
  summary: Record<string, number>;
  outputDir: string;
}

export interface StoredReport extends ReportMeta {
  id: string;
  createdAt: string;
  files: ObjectRef[];
  manifest: ObjectRef;
  markdown: string;
}

const CONTENT_TYPES: Record<string, string> = {
  ".md": "text/markdown",
  ".json": "application/json",
  ".csv": "text/csv",
  ".png": "image/png",
};

function contentType(name: string): string {
  const ext = name.slice(name.lastIndexOf("."));
  return CONTENT_TYPES[ext] ?? "application/octet-stream";
}

/** Checks a requested output directory (absolute; created when missing). */
export function checkOutputDir(dir: string): string {
  if (!dir) return "";
  if (!isAbsolute(dir))
    throw new InvalidInput(`output_dir "${dir}" must be an absolute path on the evaluator host (or empty)`);
  return resolve(dir);
}

export async function writeReport(
  artifacts: ArtifactStore,
  id: string,
  meta: ReportMeta,
  files: ReportFiles,
  inputs: ObjectRef[],
  params: Record<string, unknown>,
  provenance: Record<string, unknown> = {},
): Promise<StoredReport> {
  const summary: Record<string, number> = {};
  for (const [k, v] of Object.entries(meta.summary)) if (Number.isFinite(v)) summary[k] = v;
  const writer = await artifacts.beginArtifact(REPORT_KIND, id);
  let refs: ObjectRef[];
  let committed: { manifest: { createdAt: string }; ref: ObjectRef };
  try {
    refs = await Promise.all(
      Object.entries(files).map(([name, body]) => writer.putFile(name, body, { contentType: contentType(name) })),
    );
    committed = await writer.commit({
      inputs,
      params,
      provenance,
      extra: { report: { kind: meta.kind, summary, outputDir: meta.outputDir } },
    });
  } catch (e) {
    await writer.abort().catch(() => undefined);
    throw e;
  }
  // The store copy is the record; the local copy is a convenience written after the commit.
  if (meta.outputDir) {
    const dir = join(meta.outputDir, id);
    await mkdir(dir, { recursive: true });
    await Promise.all(Object.entries(files).map(([name, body]) => writeFile(join(dir, name), body)));
  }
  const md = files["report.md"];
  return {
    id,
    kind: meta.kind,
    summary,
    outputDir: meta.outputDir ? join(meta.outputDir, id) : "",
    createdAt: committed.manifest.createdAt,
    files: refs,
    manifest: committed.ref,
    markdown: typeof md === "string" ? md : (md?.toString("utf8") ?? ""),
  };
}

export async function readReport(artifacts: ArtifactStore, id: string): Promise<StoredReport> {
  const manifest = (await artifacts.getManifest(REPORT_KIND, id)) as Manifest<{ report: ReportMeta }>;
  const names = Object.keys(manifest.checksums).sort();
  const files = await Promise.all(names.map((p) => artifacts.fileRef(REPORT_KIND, id, p)));
  const markdown = names.includes("report.md")
    ? (await artifacts.readFile(REPORT_KIND, id, "report.md")).toString("utf8")
    : "";
  return {
    id,
    kind: manifest.report.kind,
    summary: manifest.report.summary,
    outputDir: manifest.report.outputDir ? join(manifest.report.outputDir, id) : "",
    createdAt: manifest.createdAt,
    files,
    manifest: await artifacts.manifestRef(REPORT_KIND, id),
    markdown,
  };
}
