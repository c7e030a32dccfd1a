import { describe, expect, it } from "vitest";
import {
  COLORS,
  decodePng,
  diceBoxPlot,
  glyph,
  lineChart,
  niceTicks,
  PALETTE,
  RasterCanvas,
  type Rgb,
  sampleGrid,
} from "../src/figures/index.js";

const px = (img: { width: number; data: Buffer }, x: number, y: number) => {
  const o = (y * img.width + x) * 4;
  return [img.data[o], img.data[o + 1], img.data[o + 2], img.data[o + 3]];
};
const countColor = (img: { data: Buffer }, c: Rgb) => {
  let n = 0;
  for (let o = 0; o < img.data.length; o += 4)
    if (img.data[o] === c[0] && img.data[o + 1] === c[1] && img.data[o + 2] === c[2]) n++;
  return n;
};

describe("RasterCanvas", () => {
  it("draws rectangles, lines and 5x7 text that survive a PNG round trip", () => {
    const cv = new RasterCanvas(40, 20);
    cv.fillRect(2, 3, 4, 5, [10, 20, 30]);
    cv.line(0, 19, 39, 19, COLORS.black);
    cv.text(20, 5, "1", [200, 0, 0]);
    const img = decodePng(cv.toPng());
    expect([img.width, img.height]).toEqual([40, 20]);
    expect(px(img, 2, 3)).toEqual([10, 20, 30, 255]);
    expect(px(img, 5, 7)).toEqual([10, 20, 30, 255]);
    expect(px(img, 6, 7)).toEqual([255, 255, 255, 255]);
    expect(px(img, 0, 19)).toEqual([0, 0, 0, 255]);
    expect(px(img, 39, 19)).toEqual([0, 0, 0, 255]);
    // Glyph "1": row 0 is 00100 -> ink at column 2 only; row 6 is 01110.
    expect(glyph("1").subarray(0, 5)).toEqual(Uint8Array.from([0, 0, 1, 0, 0]));
    expect(px(img, 22, 5)).toEqual([200, 0, 0, 255]);
    expect(px(img, 21, 5)).toEqual([255, 255, 255, 255]);
    expect(px(img, 21, 11)).toEqual([200, 0, 0, 255]);
  });

  it("picks round tick values", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
    expect(niceTicks(0, 1000, 4)).toEqual([0, 500, 1000]);
  });
});

describe("diceBoxPlot", () => {
  it("renders one coloured box per condition and class", () => {
    const png = diceBoxPlot(
      {
        conditions: ["real", "1 GAN", "10 GANs"],
        classes: ["NCR", "ED", "ET", "WT", "TC"],
        values: [0.8, 0.6, 0.7].map((m) =>
          Array.from({ length: 5 }, (_, k) =>
            Array.from({ length: 20 }, (_, i) => m - 0.05 * k + 0.01 * ((i % 7) - 3)),
          ),
        ),
      },
      { width: 500, height: 300 },
    );
    const img = decodePng(png);
    expect([img.width, img.height]).toEqual([500, 300]);
    for (const c of PALETTE.slice(0, 3)) expect(countColor(img, c)).toBeGreaterThan(5 * 20);
    expect(countColor(img, PALETTE[3])).toBe(0);
  });

  it("rejects values that do not match conditions x classes", () => {
    expect(() => diceBoxPlot({ conditions: ["a"], classes: ["NCR", "ED"], values: [[[0.5]]] })).toThrow(
      /1 conditions\]\[2 classes\]/,
    );
  });
});

describe("lineChart", () => {
  it("draws each series in its colour", () => {
    const img = decodePng(
      lineChart(
        [
          { name: "loss", y: [1, 0.6, 0.4, 0.3, 0.25] },
          { name: "val dice", x: [0, 2, 4], y: [0.1, 0.5, 0.7] },
        ],
        { title: "training", xLabel: "epoch", width: 320, height: 200 },
      ),
    );
    expect([img.width, img.height]).toEqual([320, 200]);
    expect(countColor(img, PALETTE[0])).toBeGreaterThan(100);
    expect(countColor(img, PALETTE[1])).toBeGreaterThan(100);
  });
});

describe("sampleGrid", () => {
  it("shows 4 grey channels and the mask overlay in seed 000 colours", () => {
    const h = 8;
    const w = 8;
    const data = new Uint8Array(2 * h * w * 5);
    for (let s = 0; s < 2; s++)
      for (let p = 0; p < h * w; p++) for (let ch = 0; ch < 4; ch++) data[(s * h * w + p) * 5 + ch] = 40 * ch + 10 + s;
    // Sample 0: ET (204) at pixel (1,1), NCR (51) at (2,1); sample 1: ED (~100, off-grid) at (3,3).
    data[(0 * h * w + 1 * w + 1) * 5 + 4] = 204;
    data[(0 * h * w + 1 * w + 2) * 5 + 4] = 51;
    data[(1 * h * w + 3 * w + 3) * 5 + 4] = 100;
    const img = decodePng(sampleGrid({ data, n: 2, h, w, c: 5 }, { columns: 2 }));
    const sampleW = 5 * w + 4 * 2;
    expect([img.width, img.height]).toEqual([2 * sampleW + 8, 12 + h]);
    // Grey tiles: channel 2 of sample 0 at tile 2.
    expect(px(img, 2 * (w + 2) + 4, 12 + 4)).toEqual([90, 90, 90, 255]);
    // Overlay tile on FLAIR (grey 130): ET red, NCR green, background unchanged.
    const ox = 4 * (w + 2);
    const blend = (g: number, c: number) => Math.round(g * 0.4 + c * 0.6);
    expect(px(img, ox + 1, 12 + 1)).toEqual([blend(130, 255), blend(130, 0), blend(130, 0), 255]);
    expect(px(img, ox + 2, 12 + 1)).toEqual([blend(130, 0), blend(130, 200), blend(130, 0), 255]);
    expect(px(img, ox + 5, 12 + 5)).toEqual([130, 130, 130, 255]);
    // Sample 1 in the second column: ED blue.
    const ox1 = sampleW + 8 + 4 * (w + 2);
    expect(px(img, ox1 + 3, 12 + 3)).toEqual([blend(131, 0), blend(131, 90), blend(131, 255), 255]);
  });

  it("rejects data that does not match the shape", () => {
    expect(() => sampleGrid({ data: new Uint8Array(10), n: 1, h: 2, w: 2, c: 5 })).toThrow(/NHWC/);
  });
});
