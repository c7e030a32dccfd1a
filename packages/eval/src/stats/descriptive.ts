// Descriptive statistics used across metrics and reports. NaN values are excluded and counted, never averaged.

export interface Summary {
  mean: number;
  /** Sample standard deviation (n - 1); NaN when fewer than 2 values. */
  std: number;
  median: number;
  min: number;
  max: number;
  /** Values that entered the summary. */
  n: number;
  /** NaN values that were excluded. */
  nExcluded: number;
}

export function finiteValues(values: ArrayLike<number>): { kept: number[]; excluded: number } {
  const kept: number[] = [];
  let excluded = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) excluded++;
    else kept.push(v);
  }
  return { kept, excluded };
}

/** Arithmetic mean; NaN for no values. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** Sample standard deviation with Bessel's correction (n - 1), as numpy's std(ddof=1); NaN for n < 2. */
export function sampleStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  const m = mean(values);
  let s = 0;
  for (let i = 0; i < n; i++) s += (values[i] - m) ** 2;
  return Math.sqrt(s / (n - 1));
}

/** Percentile q in [0, 100] with linear interpolation between order statistics (numpy's default). */
export function percentile(values: ArrayLike<number>, q: number): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  return percentileSorted(sorted, q);
}

export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (Math.min(100, Math.max(0, q)) / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

export function median(values: ArrayLike<number>): number {
  return percentile(values, 50);
}

/** Mean, sample std, median, range over the non-NaN values, with the number of excluded NaNs. */
export function summarize(values: ArrayLike<number>): Summary {
  const { kept, excluded } = finiteValues(values);
  const sorted = Float64Array.from(kept).sort();
  return {
    mean: mean(kept),
    std: sampleStd(kept),
    median: percentileSorted(sorted, 50),
    min: sorted.length ? sorted[0] : Number.NaN,
    max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
    n: kept.length,
    nExcluded: excluded,
  };
}

/** Mean ± sample std over repeated runs (Table 1 of seed 000: 10 trainings). NaN runs are excluded and counted. */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number; n: number; nExcluded: number } {
  const { kept, excluded } = finiteValues(values);
  return { mean: mean(kept), std: sampleStd(kept), n: kept.length, nExcluded: excluded };
}
