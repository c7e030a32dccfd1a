import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  REFERENCE_ROW,
  renderEncoderFrechet,
  toEncoderImages,
  writeEncoderFrechet,
} from "../src/experiment/encoder-frechet.js";

describe("encoder Fréchet distance rows", () => {
  it("feeds the encoder the 4 MR channels z-scored per slice over the brain, background 0, mask dropped", () => {
    // Two 2x2 slices, 5 channels (T1, T1Gd, T2, FLAIR, mask); pixel 0 of each is background.
    const data = new Uint8Array(2 * 4 * 5);
    for (let k = 0; k < 2; k++)
      for (let p = 1; p < 4; p++) for (let c = 0; c < 5; c++) data[(k * 4 + p) * 5 + c] = c === 4 ? 102 : 10 * p + k;
    const x = toEncoderImages({ data, n: 2, h: 2, w: 2, c: 5 });
    expect(x).toMatchObject({ n: 2, height: 2, width: 2, channels: 4 });
    for (let k = 0; k < 2; k++) {
      const slice = x.data.subarray(k * 16, (k + 1) * 16);
      expect(Array.from(slice.subarray(0, 4))).toEqual([0, 0, 0, 0]);
      // Brain values 10, 20, 30 (+k) -> z-scores -1.22, 0, 1.22 in every channel, whatever the offset k.
      for (let c = 0; c < 4; c++) {
        expect(slice[4 + c]).toBeCloseTo(-Math.sqrt(1.5), 4);
        expect(slice[8 + c]).toBeCloseTo(0, 4);
        expect(slice[12 + c]).toBeCloseTo(Math.sqrt(1.5), 4);
      }
    }
  });

  it("adds encoder_frechet to report.json and a table to report.md, saying why a row has no distance", () => {
    const dir = mkdtempSync(join(tmpdir(), "synthmri-fd-"));
    writeFileSync(join(dir, "report.json"), JSON.stringify({ conditions: [] }));
    writeFileSync(join(dir, "report.md"), "# report\n\n## Verdicts\n\nx\n");
    const rows = [
      { source: REFERENCE_ROW, distance: 1.5, featureDim: 56, images: 300, realImages: 600, imagesPerFeature: 5.4 },
      { source: "synthetic-1", images: 96, realImages: 600, error: "needs at least 224 images per set" },
    ];
    writeEncoderFrechet(dir, rows);
    writeEncoderFrechet(dir, rows); // idempotent: one table
    expect(JSON.parse(readFileSync(join(dir, "report.json"), "utf8")).encoder_frechet).toEqual(rows);
    const md = readFileSync(join(dir, "report.md"), "utf8");
    expect(md.match(/## Fréchet distance/g)).toHaveLength(1);
    expect(md).toContain("## Verdicts");
    expect(renderEncoderFrechet(rows)).toContain("| synthetic-1 | not computed: needs at least 224 images per set | 96 |");
    expect(renderEncoderFrechet(rows)).toContain("| real held-out (reference) | 1.50 | 300 | 56 | 5.4 |");
  });
});
