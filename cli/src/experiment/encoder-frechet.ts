// The Fréchet distance of every synthetic source to the real training slices on the features of the trained
// real-data U-Net's encoder (issue 16; @synthmri/eval encoderFrechetDistance), with the real held-out slices as
// the reference row (how far never-seen real images are). The features are what the segmenter learnt to look
// at, so the distance speaks to the task; it is only reported with at least 4x more images per set than feature
// dimensions, otherwise the row says how many images it would need.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ModelFormat, Split } from "@synthmri/contracts";
import {
  type EncoderImages,
  type EncoderReference,
  encoderFrechetToReference,
  encoderReference,
  type ImageSet,
} from "@synthmri/eval";
import { initBackend, loadUNet, type UNet, zScoreInPlace } from "@synthmri/ml";
import type { ServiceClients } from "./clients.js";
import { readImageSet } from "./families-measures.js";
import type { ExperimentResult } from "./run-experiment.js";

export interface EncoderFrechetRow {
  /** "real held-out (reference)" or a synthetic source (its first run's dataset). */
  source: string;
  distance?: number;
  featureDim?: number;
  images?: number;
  realImages?: number;
  imagesPerFeature?: number;
  /** Why there is no distance. */
  error?: string;
}

export const REFERENCE_ROW = "real held-out (reference)";
const SECTION = "## Fréchet distance on the real-data U-Net's encoder";

/** The 4 MR channels of uint8 NHWC slices, z-scored per slice as the U-Net sees them. */
export function toEncoderImages(set: ImageSet): EncoderImages {
  const px = set.h * set.w;
  const data = new Float32Array(set.n * px * 4);
  for (let k = 0; k < set.n; k++) {
    const image = new Float32Array(px * 4);
    for (let p = 0; p < px; p++)
      for (let c = 0; c < 4; c++) image[p * 4 + c] = set.data[(k * px + p) * set.c + c] as number;
    data.set(zScoreInPlace(image, set.h, set.w, 4), k * px * 4);
  }
  return { data, n: set.n, height: set.h, width: set.w, channels: 4 };
}

async function downloadModel(clients: ServiceClients, modelId: string): Promise<UNet> {
  const parts: Uint8Array[] = [];
  for await (const m of clients.segmenter.exportModel({ modelId, version: 0, format: ModelFormat.SYNTHMRI })) {
    const f = m.file?.frame;
    if (f?.case === "chunk") parts.push(f.value.data);
  }
  return loadUNet(Buffer.concat(parts));
}

async function row(
  model: UNet,
  source: string,
  set: EncoderImages,
  real: EncoderReference | Error,
  realImages: number,
): Promise<EncoderFrechetRow> {
  try {
    if (real instanceof Error) throw real;
    const r = await encoderFrechetToReference(model, set, real);
    return {
      source,
      distance: r.distance,
      featureDim: r.featureDim,
      images: r.nA,
      realImages: r.nB,
      imagesPerFeature: r.imagesPerFeature,
    };
  } catch (e) {
    return { source, images: set.n, realImages, error: (e as Error).message };
  }
}

/** One row per synthetic source plus the reference; the first real-only U-Net run's encoder. */
export async function encoderFrechetRows(
  clients: ServiceClients,
  result: ExperimentResult,
): Promise<EncoderFrechetRow[]> {
  const modelId = result.models.real?.[0];
  if (!modelId) return [{ source: REFERENCE_ROW, error: "no real-only U-Net was trained" }];
  // The CLI's own tensor work must run on the product's backend (native kernels): tfjs' stock cpu fallback,
  // current until initBackend runs, took 28x longer (8 minutes of a demo run for these rows).
  await initBackend();
  const model = await downloadModel(clients, modelId);
  try {
    const realImages = toEncoderImages(await readImageSet(clients, result.datasetId, { split: Split.TRAIN }));
    // The real training slices are encoded once and every set is compared with their statistics.
    // A reference too small for a distance still gives every row, each saying why.
    const real = await encoderReference(model, realImages).catch((e: Error) => e);
    const heldOut = toEncoderImages(await readImageSet(clients, result.datasetId, { split: Split.TEST }));
    const rows = [await row(model, REFERENCE_ROW, heldOut, real, realImages.n)];
    for (const [source, ids] of Object.entries(result.synthetic)) {
      const id = ids[0];
      if (!id) continue;
      const set = await readImageSet(clients, id, { split: Split.ALL });
      if (set.h !== realImages.height) {
        rows.push({
          source,
          error: `images are ${set.h}x${set.w}, the real slices ${realImages.height}x${realImages.width}`,
        });
        continue;
      }
      rows.push(await row(model, source, toEncoderImages(set), real, realImages.n));
    }
    return rows;
  } finally {
    model.dispose();
  }
}

export function renderEncoderFrechet(rows: EncoderFrechetRow[]): string {
  const f = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(d));
  const lines = [
    SECTION,
    "",
    "Features: the spatial maximum of every encoder level of the first real-only U-Net run; each set against the real " +
      "training slices. Lower is closer to real; the real held-out row is the floor a perfect generator would reach.",
    "",
    "| Images | Fréchet distance | images | features | images per feature |",
    "|---|---|---|---|---|",
    ...rows.map((r) =>
      r.error
        ? `| ${r.source} | not computed: ${r.error.replace(/\|/g, "\\|")} | ${r.images ?? "-"} | - | - |`
        : `| ${r.source} | ${f(r.distance)} | ${r.images} | ${r.featureDim} | ${f(r.imagesPerFeature, 1)} |`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

/** Adds `encoder_frechet` to out/<id>/report.json and its table to the end of report.md. */
export function writeEncoderFrechet(outDir: string, rows: EncoderFrechetRow[]): void {
  const jsonPath = join(outDir, "report.json");
  if (existsSync(jsonPath)) {
    const report = JSON.parse(readFileSync(jsonPath, "utf8")) as Record<string, unknown>;
    report.encoder_frechet = rows;
    writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  }
  const mdPath = join(outDir, "report.md");
  const md = existsSync(mdPath) ? readFileSync(mdPath, "utf8") : "";
  const kept = md.includes(SECTION) ? md.slice(0, md.indexOf(SECTION)) : md;
  writeFileSync(mdPath, `${kept.trimEnd()}\n\n${renderEncoderFrechet(rows)}`);
}
