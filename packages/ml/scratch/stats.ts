import { generatePhantomSubject, PHANTOM_TISSUE } from "@synthmri/volume";
const size = (process.argv[2] ?? "64,64,40").split(",").map(Number) as [number, number, number];
const n = Number(process.argv[3] ?? 12);
const pct = (a: number[], q: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]; };
const t0 = Date.now();
for (let si = 0; si < n; si++) {
  const p = generatePhantomSubject(si, { size, seed: process.argv[4] ?? "0" });
  const [X, Y, Z] = size;
  const sel = (vol: Int16Array, f: (i: number) => boolean) => { const o: number[] = []; for (let i = 0; i < vol.length; i++) if (f(i)) o.push(vol[i]); return o; };
  const healthy = (t: number) => (i: number) => p.seg[i] === 0 && p.tissue[i] === t;
  const lab = (l: number) => (i: number) => p.seg[i] === l;
  const gmF = sel(p.flair, healthy(PHANTOM_TISSUE.GM)); const edF = sel(p.flair, lab(2));
  const edBelowGm90 = edF.filter(((g) => (v: number) => v < g)(pct(gmF, 0.9))).length / edF.length;
  const csfT2 = sel(p.t2, healthy(PHANTOM_TISSUE.CSF)); const ncrT2 = sel(p.t2, lab(1));
  const ncrInCsf = ncrT2.length ? ncrT2.filter(((a, b) => (v: number) => v >= a && v <= b)(pct(csfT2, 0.05), pct(csfT2, 0.95))).length / ncrT2.length : NaN;
  const etG = sel(p.t1ce, lab(4));
  const lookalike = etG.length ? sel(p.t1ce, (i) => p.seg[i] === 0 && p.t1ce[i] > 0).filter(((m) => (v: number) => v > m)(pct(etG, 0.5))).length / etG.length : NaN;
  // biggest NCR cross-section (axial)
  let ncrMax = 0;
  for (let k = 0; k < Z; k++) { let c = 0; for (let i = 0; i < X * Y; i++) if (p.seg[k * X * Y + i] === 1) c++; ncrMax = Math.max(ncrMax, c); }
  // bias: WM T1 mean per octant
  const oct = new Array(8).fill(0).map(() => [0, 0]);
  for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) { const idx = i + X * (j + Y * k); if (p.seg[idx] === 0 && p.tissue[idx] === 3) { const o = (i < X / 2 ? 0 : 1) + (j < Y / 2 ? 0 : 2) + (k < Z / 2 ? 0 : 4); oct[o][0] += p.t1[idx]; oct[o][1]++; } }
  const om = oct.filter((o) => o[1] > 50).map((o) => o[0] / o[1]);
  const counts = [0, 1, 2, 4].map((l) => p.seg.filter((v) => v === l).length);
  const tis = [0, 1, 2, 3].map((t) => p.tissue.filter((v) => v === t).length);
  console.log(`${si} site ${p.site} foci ${p.foci.length} seg ${counts.join("/")} tissue ${tis.join("/")} edBelowGm90 ${edBelowGm90.toFixed(2)} ncrInCsfT2 ${ncrInCsf.toFixed(2)} t1ceLookalike/ET ${lookalike.toFixed(2)} ncrMaxSlice ${ncrMax} biasRatio ${(Math.max(...om) / Math.min(...om)).toFixed(2)}`);
}
console.log(`${((Date.now() - t0) / n).toFixed(0)} ms/subject`);
