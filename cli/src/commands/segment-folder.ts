// `synthmri segment -i IN_DIR -o OUT_DIR`: every case of a BraTS-layout folder (2020/2021 or 2023 names; a seg file
// is not needed) segmented one after the other, written as OUT_DIR/<case>.nii.gz (nnU-Net's predict convention).
// Cases with an output already there are skipped (an interrupted run continues) unless overwrite is set; a failed
// case is reported and the others go on.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { RemoteVolumeResult, SequenceFiles } from "@synthmri/segmenter";
import { listCohort, scanDirectory } from "@synthmri/volume";
import cliProgress from "cli-progress";

const SEQUENCES = ["t1", "t1ce", "t2", "flair"] as const;

export interface FolderCase {
  name: string;
  /** absolute paths by sequence; a missing one is listed in `missing` */
  files: Partial<Record<(typeof SEQUENCES)[number], string>>;
  missing: string[];
}

/** The cases of a BraTS-layout folder (a case needs the four sequences; the seg file is ignored). */
export async function listFolderCases(inDir: string): Promise<FolderCase[]> {
  const root = resolve(inDir);
  const paths = await scanDirectory(root);
  const listing = listCohort(paths);
  return listing.subjects.map((s) => ({
    name: s.subject,
    files: Object.fromEntries(
      SEQUENCES.filter((r) => s.files[r]).map((r) => [r, join(root, s.files[r] as string)]),
    ) as FolderCase["files"],
    missing: SEQUENCES.filter((r) => !s.files[r]),
  }));
}

export interface FolderReport {
  written: string[];
  skipped: string[];
  failed: { name: string; reason: string }[];
  seconds: number;
}

export interface FolderOptions {
  inDir: string;
  outDir: string;
  overwrite: boolean;
  segment: (files: SequenceFiles) => Promise<RemoteVolumeResult>;
  /** Where the progress goes (a bar on a terminal, a line a case otherwise). */
  stderr?: NodeJS.WriteStream;
  describeError?: (e: unknown) => string;
}

export async function segmentFolder(o: FolderOptions): Promise<FolderReport> {
  const t0 = Date.now();
  const cases = await listFolderCases(o.inDir);
  const out = resolve(o.outDir);
  await mkdir(out, { recursive: true });
  const report: FolderReport = { written: [], skipped: [], failed: [], seconds: 0 };
  const stderr = o.stderr ?? process.stderr;
  const tty = stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          stream: stderr,
          format: "{bar} {value}/{total} cases | {case} | ETA {eta_formatted}",
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(cases.length, 0, { case: "" });
  let done = 0;
  const step = (name: string, what: string) => {
    done++;
    if (bar) bar.update(done, { case: `${name} ${what}` });
    else stderr.write(`[${done}/${cases.length}] ${name}: ${what}\n`);
  };
  try {
    for (const c of cases) {
      const target = join(out, `${c.name}.nii.gz`);
      if (!o.overwrite && existsSync(target)) {
        report.skipped.push(c.name);
        step(c.name, "exists, skipped");
        continue;
      }
      if (c.missing.length) {
        report.failed.push({ name: c.name, reason: `missing ${c.missing.join(", ")}` });
        step(c.name, `failed: missing ${c.missing.join(", ")}`);
        continue;
      }
      try {
        const files: SequenceFiles = {};
        for (const r of SEQUENCES) {
          const path = c.files[r] as string;
          files[r] = { name: basename(path), bytes: await readFile(path) };
        }
        const r = await o.segment(files);
        // Written under a temporary name and renamed: a half-written file would be skipped as done next time.
        await writeFile(`${target}.part`, r.nifti);
        await rename(`${target}.part`, target);
        report.written.push(c.name);
        step(c.name, `done (${r.inferenceSeconds.toFixed(1)} s)`);
      } catch (e) {
        const reason = o.describeError ? o.describeError(e) : (e as Error).message;
        report.failed.push({ name: c.name, reason });
        step(c.name, `failed: ${reason.split("\n")[0]}`);
      }
    }
  } finally {
    bar?.stop();
  }
  report.seconds = (Date.now() - t0) / 1000;
  return report;
}
