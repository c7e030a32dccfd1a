// ETA from the recent progress rate: a sliding window of (time, fraction) samples, so a slow first epoch or
// a pause does not dominate the estimate forever.
const WINDOW = 20;

export class EtaEstimator {
  private samples: { t: number; f: number }[] = [];

  add(tMs: number, fraction: number): void {
    const last = this.samples[this.samples.length - 1];
    // Fraction going backwards means a restart of counting (e.g. a resumed job): start over.
    if (last && fraction < last.f) this.samples = [];
    this.samples.push({ t: tMs, f: fraction });
    if (this.samples.length > WINDOW) this.samples.shift();
  }

  /** Seconds left, or undefined when there is no rate yet. */
  estimate(): number | undefined {
    if (this.samples.length < 2) return undefined;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    const df = b.f - a.f;
    const dt = (b.t - a.t) / 1000;
    if (df <= 0 || dt <= 0) return undefined;
    return Math.max(0, (1 - b.f) / (df / dt));
  }
}
