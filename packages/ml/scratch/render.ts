import { writeFileSync } from "node:fs";
import { PNG } from "pngjs";
import { generatePhantomSubject } from "@synthmri/volume";
const seed = process.argv[2] ?? "0";
const subs = (process.argv[3] ?? "0,1,2,3,4,5").split(",").map(Number);
const [X, Y, Z] = [64, 64, 40];
const S = 3;
const cols = 6;
const png = new PNG({ width: X * S * cols, height: Y * S * subs.length });
subs.forEach((si, row) => {
  const p = generatePhantomSubject(si, { size: [X, Y, Z], seed });
  const k = Math.round(p.tumour.centre[2]);
  const vols = [p.t1, p.t1ce, p.t2, p.flair];
  const maxes = vols.map((v) => v.reduce((a, b) => Math.max(a, b), 0));
  for (let c = 0; c < cols; c++)
    for (let j = 0; j < Y; j++)
      for (let i = 0; i < X; i++) {
        const idx = i + X * (j + Y * k);
        let rgb: number[];
        if (c < 4) { const g = Math.round((255 * vols[c][idx]) / maxes[c]); rgb = [g, g, g]; }
        else if (c === 4) { const l = p.seg[idx]; rgb = l === 1 ? [255, 0, 0] : l === 2 ? [0, 200, 0] : l === 4 ? [255, 255, 0] : [0, 0, 0]; }
        else { const t = p.tissue[idx]; rgb = [[0,0,0],[0,0,255],[128,128,128],[255,255,255]][t]; }
        for (let a = 0; a < S; a++) for (let b = 0; b < S; b++) {
          const o = ((row * Y * S + j * S + a) * X * S * cols + c * X * S + i * S + b) * 4;
          png.data[o] = rgb[0]; png.data[o + 1] = rgb[1]; png.data[o + 2] = rgb[2]; png.data[o + 3] = 255;
        }
      }
  console.log(si, "site", p.site, "foci", p.foci.length, "labels", [...new Set(p.seg)].sort().join(","));
});
writeFileSync(`/tmp/pc/phantom-${seed}.png`, PNG.sync.write(png));
