import { intensityOnlyBaseline } from "../src/index.js";
import { phantomCohortSplit } from "../test/phantom-cohort.js";
for (const seed of (process.argv[2] ?? "0").split(",")) {
  const t0 = Date.now();
  const { train, test } = phantomCohortSplit({ subjects: 30, test: 10, size: [64, 64, 40], seed });
  const t1 = Date.now();
  for (const cov of ["full", "diagonal"] as const) {
    const r = intensityOnlyBaseline(train.flatMap((s) => s.slices), test.map((s) => ({ subject: s.subject, slices: s.slices })), { covariance: cov });
    console.log(`seed ${seed} ${cov}: gen+slice ${(t1 - t0) / 1000}s; NCR ${r.dice.NCR.toFixed(3)} ED ${r.dice.ED.toFixed(3)} ET ${r.dice.ET.toFixed(3)} mean ${r.meanNcrEdEt.toFixed(3)} WT ${r.dice.WT.toFixed(3)} TC ${r.dice.TC.toFixed(3)}`);
  }
  const slices = train.reduce((a, s) => a + s.slices.length, 0);
  console.log(`train slices ${slices}, test ${test.reduce((a, s) => a + s.slices.length, 0)}`);
}
