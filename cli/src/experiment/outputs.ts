// Everything the experiment leaves on disk under out/<experiment-id>/: the evaluator's report files
// (report.md, report.json, CSVs, Dice box plot), sample grids of the real and each synthetic set, GAN and
// U-Net training curves (from the jobs' progress history), and the experiment manifest.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { DataType, Split } from "@synthmri/contracts";
import { figureLinks, lineChart, sampleGrid } from "@synthmri/eval";
import type { ObjectStore } from "@synthmri/platform";
import { receiveTensors } from "@synthmri/rpc";
import type { ServiceClients } from "./clients.js";
import type { Curve } from "./progress-history.js";
import type { ExperimentResult } from "./run-experiment.js";

export interface ComparisonRow {
  a: string;
  b: string;
  class: string;
  p_value: number;
  p_corrected: number;
  mean_difference: number;
}

export interface ReportJson {
  conditions: { name: string; dice: Record<string, { mean: number; std: number }> }[];
  comparisons: ComparisonRow[];
  baseline?: string;
  n_runs?: number;
  n_subjects?: number;
}

/** Fetches the Compare report's files into outDir (from the object store when reachable). */
export async function fetchReportFiles(
  result: ExperimentResult,
  outDir: string,
  store: ObjectStore | undefined,
): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  if (store) {
    for (const ref of result.report.files) {
      const name = basename(ref.key);
      writeFileSync(join(outDir, name), await store.getBuffer(ref.key));
      written.push(name);
    }
  }
  if (!existsSync(join(outDir, "report.md")) && result.report.markdown) {
    writeFileSync(join(outDir, "report.md"), result.report.markdown);
    written.push("report.md");
  }
  return written;
}

export function readReportJson(outDir: string): ReportJson | undefined {
  const p = join(outDir, "report.json");
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, "utf8")) as ReportJson;
}

/** First `count` slices of a dataset as an NHWC uint8 image set. */
async function firstSlices(clients: ServiceClients, datasetId: string, count: number) {
  const chunks: Uint8Array[] = [];
  let shape: number[] = [];
  for await (const t of receiveTensors(
    clients.ingest.streamSlices({
      datasetId,
      split: Split.ALL,
      batchSize: count,
      maxSlices: count,
      dtype: DataType.UINT8,
    }),
    (r) => r.frame,
  )) {
    chunks.push(new Uint8Array(t.bytes));
    shape = t.shape;
    if (chunks.length * (shape[0] ?? 0) >= count) break;
  }
  const [, h = 0, w = 0, c = 0] = shape;
  const data = Buffer.concat(chunks);
  const n = Math.floor(data.length / (h * w * c || 1));
  return { data: new Uint8Array(data.buffer, data.byteOffset, n * h * w * c), n, h, w, c };
}

export async function writeSampleGrids(
  clients: ServiceClients,
  result: ExperimentResult,
  outDir: string,
  count = 12,
): Promise<string[]> {
  const figures = join(outDir, "figures");
  mkdirSync(figures, { recursive: true });
  const sets: [string, string][] = [
    ["real", result.datasetId],
    // The first run's dataset of each synthetic source.
    ...Object.entries(result.synthetic).map(([source, ids]) => [source, ids[0] ?? ""] as [string, string]),
  ];
  const written: string[] = [];
  for (const [name, id] of sets) {
    const images = await firstSlices(clients, id, count);
    if (images.n === 0) continue;
    const file = join("figures", `samples_${name}.png`);
    writeFileSync(join(outDir, file), sampleGrid(images, { columns: 2 }));
    written.push(file);
  }
  return written;
}

/** Metrics worth a chart: losses and Dice, at most a few per group. */
function chartMetrics(curves: Curve[]): string[] {
  const names = new Set<string>();
  for (const c of curves) for (const p of c.points) for (const k of Object.keys(p.metrics)) names.add(k);
  const preferred = [...names].filter((n) => /loss|dice|swd/i.test(n));
  return (preferred.length > 0 ? preferred : [...names]).sort().slice(0, 6);
}

export function writeTrainingCurves(result: ExperimentResult, outDir: string): string[] {
  const figures = join(outDir, "figures");
  mkdirSync(figures, { recursive: true });
  const written: string[] = [];
  for (const group of ["gan", "unet"] as const) {
    const curves = result.history.byGroup(group);
    for (const metric of chartMetrics(curves)) {
      const series = curves
        .map((c) => {
          const pts = c.points.filter((p) => Number.isFinite(p.metrics[metric]));
          return { name: c.name, x: pts.map((p) => p.x), y: pts.map((p) => p.metrics[metric] as number) };
        })
        .filter((s) => s.y.length > 0);
      if (series.length === 0) continue;
      const safe = metric.replace(/[^a-zA-Z0-9_-]/g, "_");
      const file = join("figures", `${group}_training_${safe}.png`);
      writeFileSync(
        join(outDir, file),
        lineChart(series, {
          title: `${group === "gan" ? "GAN" : "U-Net"} training: ${metric}`,
          xLabel: curves.every((c) => c.unit === "iteration") ? "iteration" : "% of training",
          yLabel: metric,
          width: 640,
          height: 360,
        }),
      );
      written.push(file);
    }
  }
  // The raw history too, for anyone who wants to redraw.
  writeFileSync(join(outDir, "training_history.json"), JSON.stringify([...result.history.curves.values()], null, 1));
  written.push("training_history.json");
  return written;
}

/** The Table-1-style lines and p-values for the terminal. */
export function summarizeReport(report: ReportJson | undefined, markdown: string): string {
  const lines: string[] = [];
  if (markdown) lines.push(markdown.trim());
  if (report?.comparisons?.length) {
    lines.push("", "p-values (paired sign-flip test, Bonferroni-corrected):");
    for (const c of report.comparisons) {
      lines.push(
        `  ${c.a} vs ${c.b} ${c.class.padEnd(4)} mean diff ${c.mean_difference >= 0 ? "+" : ""}${c.mean_difference.toFixed(3)}  p=${fmtP(c.p_value)}  p_corr=${fmtP(c.p_corrected)}`,
      );
    }
  }
  return lines.join("\n");
}

function fmtP(p: number): string {
  if (!Number.isFinite(p)) return "n/a";
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

/** Appends links to the figures the CLI drew (sample grids, training curves) to out/report.md. */
export function linkFiguresInReport(outDir: string, files: string[]): void {
  const path = join(outDir, "report.md");
  const figures = files.filter((f) => f.startsWith("figures/") && f.endsWith(".png"));
  if (!existsSync(path) || figures.length === 0) return;
  const captions = Object.fromEntries(
    figures.map((f) => [
      f,
      basename(f, ".png")
        .replace(/^samples_/, "samples: ")
        .replace(/_/g, " "),
    ]),
  );
  writeFileSync(
    path,
    `${readFileSync(path, "utf8").trimEnd()}\n\n${figureLinks(captions).replace("## Figures", "## Experiment figures")}`,
  );
}
