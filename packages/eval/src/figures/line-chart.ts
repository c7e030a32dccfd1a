// Line chart for training curves (loss, validation Dice, SWD over steps): one coloured polyline per series.
import { InvalidInput } from "@synthmri/core";
import { formatTick, niceTicks } from "./axes.js";
import { PALETTE } from "./canvas.js";
import { drawSvgFrame } from "./svg-axes.js";
import { SvgDoc } from "./svg.js";

export interface Series {
  name: string;
  /** x values; default 0, 1, 2, ... */
  x?: number[];
  y: number[];
}

export interface LineChartOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** y range; default the data range with 5 % margin. */
  yRange?: [number, number];
}

export function lineChart(series: Series[], options: LineChartOptions = {}): Buffer {
  return lineChartSvg(series, options).toPng();
}

/** The chart as an SVG document (lineChart rasterises it). */
export function lineChartSvg(series: Series[], options: LineChartOptions = {}): SvgDoc {
  if (series.length === 0) throw new InvalidInput("line chart needs at least one series");
  for (const s of series)
    if (s.x && s.x.length !== s.y.length)
      throw new InvalidInput(`series "${s.name}": ${s.x.length} x values but ${s.y.length} y values`);
  const pts = series.map((s) =>
    s.y
      .map((y, i) => [s.x ? s.x[i] : i, y] as [number, number])
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
  );
  const all = pts.flat();
  if (all.length === 0) throw new InvalidInput("line chart has no finite points to draw");
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  let [yMin, yMax] = options.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!options.yRange) {
    const pad = (yMax - yMin) * 0.05 || Math.abs(yMax) * 0.05 || 1;
    yMin -= pad;
    yMax += pad;
  }
  const doc = new SvgDoc(options.width ?? 560, options.height ?? 360);
  const frame = drawSvgFrame(doc, {
    title: options.title,
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    yMin,
    yMax,
    legend: series.map((s, i) => ({ name: s.name, colour: PALETTE[i % PALETTE.length] })),
  });
  const xPix = (x: number) => frame.left + ((x - xMin) / (xMax - xMin || 1)) * frame.width;
  const axisY = frame.top + frame.height;
  for (const t of niceTicks(xMin, xMax, 6)) {
    const x = xPix(t);
    doc.line(x, axisY, x, axisY + 4, "#333");
    doc.text(x, axisY + 17, formatTick(t), { size: 12, anchor: "middle" });
  }
  pts.forEach((p, i) => {
    const col = PALETTE[i % PALETTE.length];
    if (p.length > 1)
      doc.polyline(
        p.map(([x, y]) => [xPix(x), frame.y(y)]),
        col,
        2,
      );
    else doc.circle(xPix(p[0][0]), frame.y(p[0][1]), 3, col);
  });
  return doc;
}
