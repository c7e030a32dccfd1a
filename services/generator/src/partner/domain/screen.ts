// Screening of sampled slices before anything is exported: the anatomical checks (anatomy.ts), the partner's
// filters, then the memorization gate against the real training slices (a sample whose NCC with any real
// slice reaches the threshold in any MR channel is never exported). Cheap checks run first so the gate only
// sees samples that would otherwise ship.
import { DEFAULT_NCC_THRESHOLD, MemorizationGate } from "@synthmri/eval";
import { InvalidInput } from "@synthmri/platform";
import { type AnatomyRules, checkAnatomy, DEFAULT_ANATOMY_RULES, type SampleStats } from "./anatomy.js";
import type { PartnerSampleBatch, RealSlices, SampleOrigin } from "./ports.js";

export interface SampleFilters {
  /** 0 = no minimum. */
  minTumorFraction: number;
  /** 0 = no maximum. */
  maxTumorFraction: number;
  requireAllClasses: boolean;
}

export const NO_FILTERS: SampleFilters = { minTumorFraction: 0, maxTumorFraction: 0, requireAllClasses: false };

export function checkFilters(f: SampleFilters): void {
  for (const [name, v] of [
    ["min_tumor_fraction", f.minTumorFraction],
    ["max_tumor_fraction", f.maxTumorFraction],
  ] as const)
    if (!Number.isFinite(v) || v < 0 || v > 1) throw new InvalidInput(`filters.${name} ${v} must be in [0, 1]`);
  if (f.maxTumorFraction > 0 && f.minTumorFraction > f.maxTumorFraction)
    throw new InvalidInput(
      `filters.min_tumor_fraction ${f.minTumorFraction} exceeds max_tumor_fraction ${f.maxTumorFraction}`,
    );
}

/** The gate over the MR channels of the real training slices (the mask alone is not identifying). */
export function memorizationGate(real: RealSlices, nccThreshold = DEFAULT_NCC_THRESHOLD): MemorizationGate {
  const channels = Array.from({ length: Math.max(1, real.c - 1) }, (_, i) => i);
  return new MemorizationGate(real, { channels, nccThreshold });
}

export interface ScreenedSample {
  /** Index in the batch. */
  index: number;
  origin: SampleOrigin;
  maxNcc: number;
  stats: SampleStats;
}

export interface BlockedSample {
  origin: SampleOrigin;
  maxNcc: number;
  reason: string;
}

export interface ScreenResult {
  accepted: ScreenedSample[];
  rejectedAnatomy: number;
  rejectedFilters: number;
  rejectedMemorization: number;
  /** Anatomy failures per rule. */
  anatomyReasons: Record<string, number>;
  blocked: BlockedSample[];
}

export interface ScreenOptions {
  gate: MemorizationGate;
  rules?: AnatomyRules;
  filters?: SampleFilters;
}

function passesFilters(s: SampleStats, f: SampleFilters): boolean {
  if (f.minTumorFraction > 0 && s.tumourFraction < f.minTumorFraction) return false;
  if (f.maxTumorFraction > 0 && s.tumourFraction > f.maxTumorFraction) return false;
  if (f.requireAllClasses && (s.counts[1] === 0 || s.counts[2] === 0 || s.counts[3] === 0)) return false;
  return true;
}

export function screenBatch(batch: PartnerSampleBatch, options: ScreenOptions): ScreenResult {
  const { count, size, channels, data } = batch;
  const per = size * size * channels;
  if (data.length !== count * per)
    throw new InvalidInput(`sample batch holds ${data.length} values, expected ${count}x${size}x${size}x${channels}`);
  const rules = options.rules ?? DEFAULT_ANATOMY_RULES;
  const filters = options.filters ?? NO_FILTERS;
  const out: ScreenResult = {
    accepted: [],
    rejectedAnatomy: 0,
    rejectedFilters: 0,
    rejectedMemorization: 0,
    anatomyReasons: {},
    blocked: [],
  };
  const candidates: { index: number; stats: SampleStats }[] = [];
  for (let i = 0; i < count; i++) {
    const v = checkAnatomy(data, i * per, size, size, channels, rules);
    if (!v.pass) {
      out.rejectedAnatomy++;
      out.anatomyReasons[v.reason ?? "other"] = (out.anatomyReasons[v.reason ?? "other"] ?? 0) + 1;
    } else if (!passesFilters(v.stats, filters)) out.rejectedFilters++;
    else candidates.push({ index: i, stats: v.stats });
  }
  if (candidates.length === 0) return out;
  const subset = new Uint8Array(candidates.length * per);
  for (let j = 0; j < candidates.length; j++) {
    const c = candidates[j];
    subset.set(data.subarray(c.index * per, (c.index + 1) * per), j * per);
  }
  const decisions = options.gate.check({ data: subset, n: candidates.length, h: size, w: size, c: channels });
  decisions.forEach((d, j) => {
    const c = candidates[j];
    if (d.pass) out.accepted.push({ index: c.index, origin: batch.origins[c.index], maxNcc: d.maxNcc, stats: c.stats });
    else {
      out.rejectedMemorization++;
      out.blocked.push({ origin: batch.origins[c.index], maxNcc: d.maxNcc, reason: d.reason ?? "memorized" });
    }
  });
  return out;
}
