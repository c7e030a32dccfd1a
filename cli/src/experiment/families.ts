// The `families` comparison (issues 21, 22): the same experiment once per generator family on the same data (the
// data stage and the real-only U-Nets are shared through the stage cache, being the same content), then one table
// per family: U-Net Dice on synthetic only and mixed with real (seed 000's conditions), GAN training time.
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Writable } from "node:stream";
import type { SessionResult } from "./session.js";
import { type ExperimentSpec, type GanFamilyName, specForFamily } from "./spec.js";

/**
 * Rough CPU seconds per kimg of each family at 32x32 demo width on 2 cores (PGAN from the demo preset; the others
 * from the families' demo step times in packages/ml/src/families, scaled): an estimate to print, not a promise.
 */
const SECONDS_PER_KIMG: Record<GanFamilyName, number> = {
  pgan: 25,
  dcgan: 15,
  lsgan: 15,
  hinge: 15,
  stylegan2: 90,
  spade2stage: 120,
  ddpm: 100,
};
/** U-Nets, synthesis and evaluation of one family's experiment (the demo preset's share without its GANs). */
const SECONDS_PER_FAMILY_REST = 300;

export function estimateFamiliesSeconds(spec: ExperimentSpec): number {
  const kimg = spec.gan.totalKimg || 7;
  const parallel = Math.max(1, Math.min(spec.gan.concurrency, spec.gan.members));
  return spec.gan.families.reduce(
    (t, f) => t + (SECONDS_PER_KIMG[f] * kimg * spec.gan.members) / Math.min(parallel, 2) + SECONDS_PER_FAMILY_REST,
    0,
  );
}

export interface FamilyOutcome {
  family: GanFamilyName;
  experimentId: string;
  wallSeconds: number;
  summary: Record<string, number>;
}

const fmt = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(3));

/** The per-family table: mean Dice (WT/TC/ET as the compare report names them) per condition. */
export function familiesMarkdown(spec: ExperimentSpec, outcomes: FamilyOutcome[]): string {
  const k = Math.max(...spec.synthetic.ensembleSizes);
  const mixed = spec.synthetic.mixWithReal.length ? Math.max(...spec.synthetic.mixWithReal) : undefined;
  const classes = ["WT", "TC", "ET"];
  const cols = [
    ...classes.map((c) => [`synthetic-${k} ${c}`, `dice_synthetic-${k}_${c}`]),
    ...(mixed ? classes.map((c) => [`real+synthetic-${mixed} ${c}`, `dice_real+synthetic-${mixed}_${c}`]) : []),
    ...classes.map((c) => [`real ${c}`, `dice_real_${c}`]),
  ];
  const lines = [
    `# Generator families: ${spec.name}`,
    "",
    `Mean U-Net Dice on the real test split, per family (${spec.gan.members} members each, same data and seed).`,
    "",
    `| family | ${cols.map((c) => c[0]).join(" | ")} | wall s |`,
    `| --- | ${cols.map(() => "---").join(" | ")} | --- |`,
    ...outcomes.map(
      (o) => `| ${o.family} | ${cols.map((c) => fmt(o.summary[c[1]])).join(" | ")} | ${o.wallSeconds.toFixed(0)} |`,
    ),
    "",
    `Per-family reports: ${outcomes.map((o) => `${o.family} -> out/${o.experimentId}/report.md`).join("; ")}`,
    "",
  ];
  return lines.join("\n");
}

/** Runs each family's experiment in turn (sessions share the stage cache) and writes out/<name>-families.md. */
export async function runFamilies(
  spec: ExperimentSpec,
  outRoot: string,
  runOne: (spec: ExperimentSpec) => Promise<SessionResult>,
  out: Writable = process.stdout,
): Promise<{ markdown: string; path: string; outcomes: FamilyOutcome[] }> {
  const est = estimateFamiliesSeconds(spec);
  out.write(
    `families: ${spec.gan.families.join(", ")} on the same data; estimated ${Math.round(est / 60)} min on 2 CPU cores\n`,
  );
  const outcomes: FamilyOutcome[] = [];
  for (const family of spec.gan.families) {
    const s = await runOne(specForFamily(spec, family));
    outcomes.push({
      family,
      experimentId: s.experimentId,
      wallSeconds: s.wallSeconds,
      summary: s.result.report.summary,
    });
  }
  const markdown = familiesMarkdown(spec, outcomes);
  const path = join(resolve(outRoot), `${spec.name}-families.md`);
  writeFileSync(path, markdown);
  out.write(`${markdown}\nwritten to ${path}\n`);
  return { markdown, path, outcomes };
}
