// Keeps every progress snapshot of the training jobs (metrics by fraction of the job) so that training curves
// can be drawn at the end, from what WatchJob reported.
import type { JobStatus } from "@synthmri/contracts";

export interface CurvePoint {
  /** Percent of the job done, or the run's iteration where the job reports one (U-Net runs). */
  x: number;
  metrics: Record<string, number>;
}

export interface Curve {
  group: "gan" | "unet";
  name: string;
  unit: string;
  points: CurvePoint[];
}

export class ProgressHistory {
  readonly curves = new Map<string, Curve>();

  record(group: Curve["group"], name: string, job: JobStatus): void {
    const p = job.progress;
    if (!p) return;
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(p.metrics ?? {})) if (Number.isFinite(v)) metrics[k] = v;
    if (Object.keys(metrics).length === 0) return;
    // A job that trains several runs at once (one child process each) interleaves their snapshots: one curve
    // per run, over the run's own iterations (the job's fraction mixes the runs).
    const run = metrics.run;
    const perRun = Number.isInteger(run) && Number.isFinite(metrics.iteration);
    const curveName = perRun ? `${name} run ${run + 1}` : name;
    const key = `${group}/${curveName}`;
    let curve = this.curves.get(key);
    if (!curve) {
      curve = { group, name: curveName, unit: perRun ? "iteration" : p.unit || "fraction", points: [] };
      this.curves.set(key, curve);
    }
    // The fraction of the whole job is monotone across phases (per-phase counters restart at each resolution).
    const x = perRun ? metrics.iteration : p.fraction * 100;
    const last = curve.points.at(-1);
    // Same x and same numbers: a repeated snapshot, not a new point.
    if (last && last.x === x && JSON.stringify(last.metrics) === JSON.stringify(metrics)) return;
    curve.points.push({ x, metrics });
  }

  byGroup(group: Curve["group"]): Curve[] {
    return [...this.curves.values()].filter((c) => c.group === group);
  }
}
