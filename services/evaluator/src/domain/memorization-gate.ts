// The memorization gate, reusable outside the evaluator (the generator's partner flow):
//
//   const { gate } = await buildMemorizationGate(source, realDatasetId, { nccThreshold: 0.95 });
//   const { passed, blocked } = gateSamples(gate, syntheticBatch);   // ImageSet, uint8 NHWC 5 channels
//   // release only passed indices; log blocked[i].reason (no voxel data, no subject ids)
//
// `source` is any SliceSource (the evaluator's gRPC ingest adapter, IngestSliceSource, or a fake in tests).
// Build the gate once per real dataset and keep it: it holds the real training slices in memory
// (n x h x w x 5 bytes) with their per-channel norms, and checks each synthetic sample against all of them.
import { type ImageSet, MemorizationGate } from "@synthmri/ml";
import { collectImages } from "./collect.js";
import type { SliceSource } from "./ports.js";

export const DEFAULT_NCC_THRESHOLD = 0.95;

export interface GateOptions {
  /** Channels checked (0 T1, 1 T1CE, 2 T2, 3 FLAIR, 4 mask); default all. */
  channels?: number[];
  nccThreshold?: number;
  /** Also block when the L2 distance in a checked channel is at or below this (0-255 units). */
  l2Threshold?: number;
  /** Cap on real training slices read (0 = all). */
  maxRealSlices?: number;
  signal?: AbortSignal;
}

/** Reads the real dataset's TRAINING slices and prepares the gate over them. */
export async function buildMemorizationGate(
  source: SliceSource,
  realDatasetId: string,
  options: GateOptions = {},
): Promise<{ gate: MemorizationGate; real: ImageSet }> {
  const real = await collectImages(source, realDatasetId, "memorization gate (real training slices)", {
    split: "train",
    maxSlices: options.maxRealSlices,
    signal: options.signal,
  });
  const gate = new MemorizationGate(real, {
    channels: options.channels,
    nccThreshold: options.nccThreshold ?? DEFAULT_NCC_THRESHOLD,
    l2Threshold: options.l2Threshold,
  });
  return { gate, real };
}

/** Splits synthetic samples into those the gate passes and those it blocks (with the reason). */
export function gateSamples(
  gate: MemorizationGate,
  synthetic: ImageSet,
): { passed: number[]; blocked: { index: number; maxNcc: number; reason: string }[] } {
  const passed: number[] = [];
  const blocked: { index: number; maxNcc: number; reason: string }[] = [];
  for (const d of gate.check(synthetic)) {
    if (d.pass) passed.push(d.index);
    else blocked.push({ index: d.index, maxNcc: d.maxNcc, reason: d.reason ?? "" });
  }
  return { passed, blocked };
}
