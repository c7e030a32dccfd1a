// Memorization check (seed 004): for each synthetic sample, per channel, the maximum normalized
// cross-correlation (zero-mean, unit-norm, at zero shift) and the smallest L2 distance to any real training
// slice. A sample whose NCC reaches the threshold is a near-copy of a real slice; the partner flow drops it.
// Efficiency: real slices are reduced once to (sum, sum of squares) per channel, in place (never copied); one
// raw dot product per
// (synthetic, real, channel) then yields both measures:
//   NCC = (s·r - P mean_s mean_r) / (|s - mean_s| |r - mean_r|),   L2² = |s|² + |r|² - 2 s·r.
// Dot products are blocked (BLOCK synthetic samples against one real slice), so each real slice is read from
// memory once per block instead of once per sample.
import { InvalidInput, type PaceOptions, runSteps, runStepsPaced, type Steps } from "@synthmri/core";
import { percentile } from "../stats/descriptive.js";
import { type ImageSet, checkCompatible, checkImageSet } from "./image-set.js";

// Synthetic samples per block: each real slice is unpacked once per block.
const BLOCK = 32;

export interface ChannelMatch {
  /** Highest NCC to any real slice (-1..1); 0 where either slice is constant in this channel. */
  maxNcc: number;
  /** Index of that real slice. */
  nccIndex: number;
  /** Smallest Euclidean distance to any real slice, in the input's intensity units. */
  minL2: number;
  l2Index: number;
}

export interface SampleMatch {
  index: number;
  perChannel: ChannelMatch[];
  /** Highest maxNcc over the checked channels. */
  maxNcc: number;
}

/**
 * Per-channel statistics of every image (sum, |x|², |x - mean|), read in place from the NHWC data: the real
 * training set can be many GiB, so it is never copied.
 */
interface ChannelStats {
  set: ImageSet;
  sums: Float64Array[];
  centredNorms: Float64Array[];
  sqNorms: Float64Array[];
}

/** Images between two yields of the statistics pass (a few ms of work at 256 px). */
const STATS_IMAGES_PER_STEP = 64;

function* channelStats(set: ImageSet, channels: readonly number[]): Steps<ChannelStats> {
  const P = set.h * set.w;
  const stats: ChannelStats = { set, sums: [], centredNorms: [], sqNorms: [] };
  for (const ch of channels) {
    const sums = new Float64Array(set.n);
    const cn = new Float64Array(set.n);
    const sq = new Float64Array(set.n);
    for (let i = 0; i < set.n; i++) {
      const base = i * P * set.c + ch;
      let s = 0;
      let s2 = 0;
      for (let p = 0; p < P; p++) {
        const v = set.data[base + p * set.c];
        s += v;
        s2 += v * v;
      }
      sums[i] = s;
      sq[i] = s2;
      cn[i] = Math.sqrt(Math.max(0, s2 - (s * s) / P));
      if (i % STATS_IMAGES_PER_STEP === STATS_IMAGES_PER_STEP - 1) yield;
    }
    stats.sums.push(sums);
    stats.centredNorms.push(cn);
    stats.sqNorms.push(sq);
  }
  return stats;
}

/**
 * NCC at or above which a synthetic sample counts as a copy of a real slice: the one default of the
 * evaluator's MemorizationReport and the generator's partner certification.
 */
export const DEFAULT_NCC_THRESHOLD = 0.95;

export interface MemorizationOptions {
  /** Channels to check (default all). E.g. [0, 1, 2, 3] for the MR channels only. */
  channels?: readonly number[];
  /** NCC at or above which a sample is flagged / blocked (default DEFAULT_NCC_THRESHOLD). */
  nccThreshold?: number;
  /** Optional: also flag samples whose L2 distance in any checked channel is at or below this. */
  l2Threshold?: number;
}

export interface GateDecision {
  index: number;
  pass: boolean;
  maxNcc: number;
  /** Channel and real slice that decided a block; null when passing. */
  reason: string | null;
  match: SampleMatch;
}

function resolveChannels(set: ImageSet, channels?: readonly number[]): number[] {
  const chs = channels ? [...channels] : Array.from({ length: set.c }, (_, i) => i);
  if (chs.length === 0 || chs.some((c) => !Number.isInteger(c) || c < 0 || c >= set.c))
    throw new InvalidInput(`memorization channels [${chs.join(", ")}] must be indices in 0..${set.c - 1}`);
  return chs;
}

/**
 * Holds the real training slices, prepared once (on first use), and decides per synthetic sample whether it is
 * too close to any of them. Blocked when, in any checked channel, maxNcc >= nccThreshold (or minL2 <=
 * l2Threshold if set). Every computation comes as steps (generators, see @synthmri/core's steps.ts), run at once
 * (`match`, `check`) or paced (`matchAsync`, `checkAsync`) in a process whose event loop serves or calls gRPC.
 */
export class MemorizationGate {
  readonly nccThreshold: number;
  readonly l2Threshold: number | undefined;
  readonly channels: readonly number[];
  private readonly realSet: ImageSet;
  private real: ChannelStats | undefined;

  constructor(realSlices: ImageSet, options: MemorizationOptions = {}) {
    checkImageSet("real training slices", realSlices);
    this.channels = resolveChannels(realSlices, options.channels);
    this.nccThreshold = options.nccThreshold ?? DEFAULT_NCC_THRESHOLD;
    this.l2Threshold = options.l2Threshold;
    if (!(this.nccThreshold > -1 && this.nccThreshold <= 1))
      throw new InvalidInput(`NCC threshold ${this.nccThreshold} must be in (-1, 1]`);
    this.realSet = realSlices;
  }

  get realCount(): number {
    return this.realSet.n;
  }

  private *prepared(): Steps<ChannelStats> {
    this.real ??= yield* channelStats(this.realSet, this.channels);
    return this.real;
  }

  /** Nearest real slices for every synthetic sample. */
  match(synthetic: ImageSet): SampleMatch[] {
    return runSteps(this.matchSteps(synthetic));
  }

  /** `match`, yielding to the event loop as it goes. */
  matchAsync(synthetic: ImageSet, pace?: PaceOptions): Promise<SampleMatch[]> {
    return runStepsPaced(this.matchSteps(synthetic), pace);
  }

  /** `match` as steps: one step is one real slice against a block of synthetic samples (or 64 images' stats). */
  *matchSteps(synthetic: ImageSet): Steps<SampleMatch[]> {
    checkImageSet("synthetic samples", synthetic);
    checkCompatible(this.realSet, synthetic, "memorization check");
    const realStats = yield* this.prepared();
    const syn = yield* channelStats(synthetic, this.channels);
    const P = synthetic.h * synthetic.w;
    const real = this.realSet;
    const nReal = real.n;
    const results: SampleMatch[] = Array.from({ length: synthetic.n }, (_, index) => ({
      index,
      perChannel: this.channels.map(() => ({ maxNcc: -Infinity, nccIndex: -1, minL2: Infinity, l2Index: -1 })),
      maxNcc: -Infinity,
    }));
    // Synthetic block as planar float32 [b][p] and one real slice's channel as a contiguous row: every dot
    // product is then a tight loop over two contiguous arrays with the sum in a register.
    const block = new Float32Array(BLOCK * P);
    const row = new Float32Array(P);
    const dots = new Float64Array(BLOCK);
    for (let ci = 0; ci < this.channels.length; ci++) {
      const ch = this.channels[ci];
      const rData = real.data;
      const rc = real.c;
      for (let s0 = 0; s0 < synthetic.n; s0 += BLOCK) {
        const bs = Math.min(BLOCK, synthetic.n - s0);
        for (let b = 0; b < bs; b++) {
          const base = (s0 + b) * P * synthetic.c + ch;
          for (let p = 0; p < P; p++) block[b * P + p] = synthetic.data[base + p * synthetic.c];
        }
        for (let r = 0; r < nReal; r++) {
          const rBase = r * P * rc + ch;
          for (let p = 0; p < P; p++) row[p] = rData[rBase + p * rc];
          for (let b = 0; b < bs; b++) {
            const off = b * P;
            let acc = 0;
            for (let p = 0; p < P; p++) acc += block[off + p] * row[p];
            dots[b] = acc;
          }
          const rSum = realStats.sums[ci][r];
          const rNorm = realStats.centredNorms[ci][r];
          const rSq = realStats.sqNorms[ci][r];
          for (let b = 0; b < bs; b++) {
            const si = s0 + b;
            const sNorm = syn.centredNorms[ci][si];
            const denom = sNorm * rNorm;
            // A constant slice has no pattern to correlate; count it as 0 rather than undefined.
            const ncc = denom > 1e-12 ? (dots[b] - (syn.sums[ci][si] * rSum) / P) / denom : 0;
            const l2 = Math.sqrt(Math.max(0, syn.sqNorms[ci][si] + rSq - 2 * dots[b]));
            const m = results[si].perChannel[ci];
            if (ncc > m.maxNcc) {
              m.maxNcc = ncc;
              m.nccIndex = r;
            }
            if (l2 < m.minL2) {
              m.minL2 = l2;
              m.l2Index = r;
            }
          }
          yield;
        }
      }
    }
    for (const r of results) r.maxNcc = Math.max(...r.perChannel.map((c) => c.maxNcc));
    return results;
  }

  /** Pass/fail per synthetic sample. */
  check(synthetic: ImageSet): GateDecision[] {
    return runSteps(this.checkSteps(synthetic));
  }

  /** `check`, yielding to the event loop as it goes. */
  checkAsync(synthetic: ImageSet, pace?: PaceOptions): Promise<GateDecision[]> {
    return runStepsPaced(this.checkSteps(synthetic), pace);
  }

  *checkSteps(synthetic: ImageSet): Steps<GateDecision[]> {
    const matches = yield* this.matchSteps(synthetic);
    return matches.map((m) => {
      let reason: string | null = null;
      m.perChannel.forEach((c, ci) => {
        if (reason) return;
        if (c.maxNcc >= this.nccThreshold)
          reason = `channel ${this.channels[ci]}: NCC ${c.maxNcc.toFixed(4)} >= ${this.nccThreshold} with real slice ${c.nccIndex}`;
        else if (this.l2Threshold !== undefined && c.minL2 <= this.l2Threshold)
          reason = `channel ${this.channels[ci]}: L2 ${c.minL2.toFixed(4)} <= ${this.l2Threshold} to real slice ${c.l2Index}`;
      });
      return { index: m.index, pass: reason === null, maxNcc: m.maxNcc, reason, match: m };
    });
  }
}

export interface DistributionSummary {
  quantiles: { q: number; value: number }[];
  histogram: { edges: number[]; counts: number[] };
}

export interface MemorizationReport {
  nSynthetic: number;
  nReal: number;
  channels: number[];
  nccThreshold: number;
  l2Threshold: number | null;
  /** Per checked channel: distribution of the per-sample max NCC and min L2. */
  perChannel: { channel: number; ncc: DistributionSummary; l2: DistributionSummary }[];
  /** Samples over the threshold (blocked by the gate), highest NCC first. */
  flagged: { index: number; maxNcc: number; reason: string }[];
  samples: SampleMatch[];
}

const QUANTILES = [0, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1];

function distribution(values: number[], lo: number, hi: number, bins: number): DistributionSummary {
  const sorted = Float64Array.from(values).sort();
  const quantiles = QUANTILES.map((q) => ({ q, value: percentile(sorted, q * 100) }));
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  const counts = new Array(bins).fill(0);
  for (const v of values) {
    const k = Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo || 1)) * bins)));
    counts[k]++;
  }
  return { quantiles, histogram: { edges, counts } };
}

/** Full memorization report of a synthetic set against the real training slices. */
export function memorizationReport(
  synthetic: ImageSet,
  real: ImageSet | MemorizationGate,
  options: MemorizationOptions & { bins?: number } = {},
): MemorizationReport {
  return runSteps(memorizationReportSteps(synthetic, real, options));
}

/** `memorizationReport`, yielding to the event loop as it goes (for a process that serves or calls gRPC). */
export function memorizationReportAsync(
  synthetic: ImageSet,
  real: ImageSet | MemorizationGate,
  options: MemorizationOptions & { bins?: number; pace?: PaceOptions } = {},
): Promise<MemorizationReport> {
  return runStepsPaced(memorizationReportSteps(synthetic, real, options), options.pace);
}

function* memorizationReportSteps(
  synthetic: ImageSet,
  real: ImageSet | MemorizationGate,
  options: MemorizationOptions & { bins?: number },
): Steps<MemorizationReport> {
  const gate = real instanceof MemorizationGate ? real : new MemorizationGate(real, options);
  const decisions = yield* gate.checkSteps(synthetic);
  const samples = decisions.map((d) => d.match);
  const bins = options.bins ?? 20;
  const perChannel = gate.channels.map((channel, ci) => {
    const l2s = samples.map((s) => s.perChannel[ci].minL2);
    return {
      channel,
      ncc: distribution(
        samples.map((s) => s.perChannel[ci].maxNcc),
        -1,
        1,
        bins,
      ),
      l2: distribution(l2s, 0, Math.max(...l2s, 1e-12), bins),
    };
  });
  const flagged = decisions
    .filter((d) => !d.pass)
    .map((d) => ({ index: d.index, maxNcc: d.maxNcc, reason: d.reason ?? "" }))
    .sort((x, y) => y.maxNcc - x.maxNcc);
  return {
    nSynthetic: synthetic.n,
    nReal: gate.realCount,
    channels: [...gate.channels],
    nccThreshold: gate.nccThreshold,
    l2Threshold: gate.l2Threshold ?? null,
    perChannel,
    flagged,
    samples,
  };
}
