// Dice box plots per class and condition (Tukey boxes: quartiles, median, whiskers at 1.5 IQR, outlier dots).
import { InvalidInput } from "@synthmri/core";
import { percentileSorted } from "../stats/descriptive.js";
import { drawFrame, drawLegend, legendRows } from "./axes.js";
import { COLORS, PALETTE, RasterCanvas } from "./canvas.js";

export interface BoxPlotInput {
  /** One box colour per condition (legend). */
  conditions: string[];
  /** One group of boxes per class along x. */
  classes: string[];
  /** values[condition][class] = per-subject values (NaN ignored). */
  values: number[][][];
}

export interface BoxStats {
  q1: number;
  median: number;
  q3: number;
  whiskerLow: number;
  whiskerHigh: number;
  outliers: number[];
  n: number;
}

export function boxStats(values: readonly number[]): BoxStats {
  const s = Float64Array.from(values.filter((v) => !Number.isNaN(v))).sort();
  const n = s.length;
  if (n === 0) return { q1: NaN, median: NaN, q3: NaN, whiskerLow: NaN, whiskerHigh: NaN, outliers: [], n };
  const q1 = percentileSorted(s, 25);
  const median = percentileSorted(s, 50);
  const q3 = percentileSorted(s, 75);
  const iqr = q3 - q1;
  const lo = q1 - 1.5 * iqr;
  const hi = q3 + 1.5 * iqr;
  const inside = [...s].filter((v) => v >= lo && v <= hi);
  return {
    q1,
    median,
    q3,
    whiskerLow: inside.length ? inside[0] : q1,
    whiskerHigh: inside.length ? inside[inside.length - 1] : q3,
    outliers: [...s].filter((v) => v < lo || v > hi),
    n,
  };
}

export interface BoxPlotOptions {
  width?: number;
  height?: number;
  title?: string;
  yLabel?: string;
  /** y range; default [0, 1] for Dice. */
  yRange?: [number, number];
}

/** PNG of box plots: classes along x, one coloured box per condition within each class. */
export function diceBoxPlot(input: BoxPlotInput, options: BoxPlotOptions = {}): Buffer {
  const { conditions, classes, values } = input;
  if (conditions.length === 0 || classes.length === 0)
    throw new InvalidInput("box plot needs at least one condition and one class");
  if (values.length !== conditions.length || values.some((v) => v.length !== classes.length))
    throw new InvalidInput(
      `box plot values must be [${conditions.length} conditions][${classes.length} classes][subjects]`,
    );
  const width = options.width ?? Math.max(320, 60 + classes.length * (conditions.length * 22 + 24));
  const height = options.height ?? 320;
  const cv = new RasterCanvas(width, height);
  const colors = conditions.map((_, i) => PALETTE[i % PALETTE.length]);
  const rows = legendRows(width, conditions);
  const [yMin, yMax] = options.yRange ?? [0, 1];
  const frame = drawFrame(cv, {
    title: options.title ?? "Dice per subject",
    yLabel: options.yLabel ?? "Dice",
    yMin,
    yMax,
    legendRows: rows,
  });
  drawLegend(
    cv,
    8 + (options.title !== "" ? 14 : 0),
    conditions.map((name, i) => ({ name, color: colors[i] })),
  );
  const groupW = frame.width / classes.length;
  const boxW = Math.max(3, Math.min(18, Math.floor((groupW - 12) / conditions.length) - 4));
  const clampY = (v: number) => frame.y(Math.min(yMax, Math.max(yMin, v)));
  classes.forEach((cls, k) => {
    const gx = frame.left + k * groupW;
    cv.text(gx + groupW / 2, frame.top + frame.height + 4, cls, COLORS.black, 1, "center");
    const inner = conditions.length * (boxW + 4) - 4;
    conditions.forEach((_, c) => {
      const b = boxStats(values[c][k]);
      if (b.n === 0) return;
      const x = Math.round(gx + (groupW - inner) / 2 + c * (boxW + 4));
      const mid = x + Math.floor(boxW / 2);
      const col = colors[c];
      cv.line(mid, clampY(b.whiskerLow), mid, clampY(b.q1), COLORS.black);
      cv.line(mid, clampY(b.q3), mid, clampY(b.whiskerHigh), COLORS.black);
      cv.line(x + 2, clampY(b.whiskerLow), x + boxW - 3, clampY(b.whiskerLow), COLORS.black);
      cv.line(x + 2, clampY(b.whiskerHigh), x + boxW - 3, clampY(b.whiskerHigh), COLORS.black);
      const yTop = Math.round(clampY(b.q3));
      const yBot = Math.round(clampY(b.q1));
      cv.fillRect(x, yTop, boxW, Math.max(1, yBot - yTop + 1), col);
      cv.strokeRect(x, yTop, boxW, Math.max(1, yBot - yTop + 1), COLORS.black);
      const ym = Math.round(clampY(b.median));
      cv.line(x, ym, x + boxW - 1, ym, COLORS.black, 2);
      for (const o of b.outliers) cv.fillCircle(mid, clampY(o), 1.5, col);
    });
  });
  return cv.toPng();
}
