// Line chart for training curves (loss, validation Dice, SWD over steps): one coloured polyline per series.
import { InvalidInput } from "@synthmri/core";
import { drawFrame, drawLegend, formatTick, legendRows, niceTicks } from "./axes.js";
import { COLORS, PALETTE, RasterCanvas } from "./canvas.js";

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
  const width = options.width ?? 480;
  const height = options.height ?? 300;
  const cv = new RasterCanvas(width, height);
  const names = series.map((s) => s.name);
  const frame = drawFrame(cv, {
    title: options.title,
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    yMin,
    yMax,
    legendRows: legendRows(width, names),
  });
  drawLegend(
    cv,
    8 + (options.title ? 14 : 0),
    names.map((name, i) => ({ name, color: PALETTE[i % PALETTE.length] })),
  );
  const xPix = (x: number) => frame.left + ((x - xMin) / (xMax - xMin || 1)) * (frame.width - 1);
  for (const t of niceTicks(xMin, xMax, 6)) {
    const x = Math.round(xPix(t));
    cv.line(x, frame.top + frame.height, x, frame.top + frame.height + 3, COLORS.black);
    cv.text(x, frame.top + frame.height + 5, formatTick(t), COLORS.black, 1, "center");
  }
  pts.forEach((p, i) => {
    const col = PALETTE[i % PALETTE.length];
    for (let k = 1; k < p.length; k++)
      cv.line(xPix(p[k - 1][0]), frame.y(p[k - 1][1]), xPix(p[k][0]), frame.y(p[k][1]), col, 2);
    if (p.length === 1) cv.fillCircle(xPix(p[0][0]), frame.y(p[0][1]), 2, col);
  });
  return cv.toPng();
}
