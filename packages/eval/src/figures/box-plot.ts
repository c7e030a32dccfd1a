// Dice box plots per class and condition (Tukey boxes: quartiles, median, whiskers at 1.5 IQR, outlier rings),
// with each box's n, drawn as SVG and rasterised by resvg.
import { InvalidInput } from "@synthmri/core";
import { percentileSorted } from "../stats/descriptive.js";
import { PALETTE } from "./canvas.js";
import { drawSvgFrame } from "./svg-axes.js";
import { SvgDoc, colour } from "./svg.js";

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

/** PNG of box plots: classes along x, one coloured box per condition within each class, n under each box. */
export function diceBoxPlot(input: BoxPlotInput, options: BoxPlotOptions = {}): Buffer {
  return diceBoxPlotSvg(input, options).toPng();
}

/** The box plot as an SVG document (diceBoxPlot rasterises it). */
export function diceBoxPlotSvg(input: BoxPlotInput, options: BoxPlotOptions = {}): SvgDoc {
  const { conditions, classes, values } = input;
  if (conditions.length === 0 || classes.length === 0)
    throw new InvalidInput("box plot needs at least one condition and one class");
  if (values.length !== conditions.length || values.some((v) => v.length !== classes.length))
    throw new InvalidInput(
      `box plot values must be [${conditions.length} conditions][${classes.length} classes][subjects]`,
    );
  const width = options.width ?? Math.max(480, 90 + classes.length * (conditions.length * 34 + 30));
  const height = options.height ?? 380;
  const doc = new SvgDoc(width, height);
  const colors = conditions.map((_, i) => PALETTE[i % PALETTE.length]);
  const [yMin, yMax] = options.yRange ?? [0, 1];
  const frame = drawSvgFrame(doc, {
    title: options.title ?? "Dice per subject",
    yLabel: options.yLabel ?? "Dice",
    yMin,
    yMax,
    legend: conditions.map((name, i) => ({ name, colour: colors[i] })),
    bottomExtra: 14,
  });
  // Room under the axis for the class names and each box's n.
  const groupW = frame.width / classes.length;
  const boxW = Math.max(6, Math.min(26, (groupW - 16) / conditions.length - 6));
  const clampY = (v: number) => frame.y(Math.min(yMax, Math.max(yMin, v)));
  const axisY = frame.top + frame.height;
  classes.forEach((cls, k) => {
    const gx = frame.left + k * groupW;
    doc.text(gx + groupW / 2, axisY + 30, cls, { size: 13, anchor: "middle", weight: "bold" });
    const inner = conditions.length * (boxW + 6) - 6;
    conditions.forEach((_, c) => {
      const b = boxStats(values[c][k]);
      const x = gx + (groupW - inner) / 2 + c * (boxW + 6);
      const mid = x + boxW / 2;
      doc.text(mid, axisY + 13, `n=${b.n}`, { size: 9, anchor: "middle", fill: "#555" });
      if (b.n === 0) return;
      const col = colors[c];
      doc.line(mid, clampY(b.whiskerLow), mid, clampY(b.q1), "#222");
      doc.line(mid, clampY(b.q3), mid, clampY(b.whiskerHigh), "#222");
      doc.line(x + 3, clampY(b.whiskerLow), x + boxW - 3, clampY(b.whiskerLow), "#222");
      doc.line(x + 3, clampY(b.whiskerHigh), x + boxW - 3, clampY(b.whiskerHigh), "#222");
      const yTop = clampY(b.q3);
      const yBot = clampY(b.q1);
      doc.rect(x, yTop, boxW, Math.max(1, yBot - yTop), { fill: colour(col), stroke: "#222", "stroke-width": 1 });
      doc.line(x, clampY(b.median), x + boxW, clampY(b.median), "#000", 2.5);
      for (const o of b.outliers) doc.circle(mid, clampY(o), 2.5, "none", { stroke: colour(col), "stroke-width": 1.5 });
    });
  });
  return doc;
}
