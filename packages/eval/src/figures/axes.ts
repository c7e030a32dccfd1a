// Shared chart furniture: nice tick values, number formatting and a plot frame with labelled axes.
import { COLORS, type RasterCanvas, type Rgb } from "./canvas.js";
import { textWidth } from "./font5x7.js";

/** About `count` round tick values covering [lo, hi] (1, 2, 5 x 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

/** Short label for a tick value. */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1).replace("e+", "e");
  return Number.parseFloat(v.toPrecision(3)).toString();
}

export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
  yMin: number;
  yMax: number;
  /** Pixel row of a data value. */
  y(v: number): number;
}

/** Draws the y axis with ticks and grid lines, the title and axis titles; returns the plotting frame. */
export function drawFrame(
  cv: RasterCanvas,
  opts: { title?: string; yLabel?: string; xLabel?: string; yMin: number; yMax: number; legendRows?: number },
): Frame {
  const ticks = niceTicks(opts.yMin, opts.yMax, 5);
  const tickW = Math.max(0, ...ticks.map((t) => textWidth(formatTick(t))));
  const left = 14 + tickW + 6;
  const top = 8 + (opts.title ? 14 : 0) + (opts.legendRows ?? 0) * 11;
  const bottom = 14 + (opts.xLabel ? 12 : 0);
  const frame: Frame = {
    left,
    top,
    width: cv.width - left - 10,
    height: cv.height - top - bottom - 10,
    yMin: opts.yMin,
    yMax: opts.yMax,
    y(v: number) {
      const span = this.yMax - this.yMin || 1;
      return this.top + this.height - ((v - this.yMin) / span) * this.height;
    },
  };
  if (opts.title) cv.text(cv.width / 2, 6, opts.title, COLORS.black, 1, "center");
  for (const t of ticks) {
    const y = Math.round(frame.y(t));
    cv.line(left, y, left + frame.width - 1, y, COLORS.lightGrey);
    cv.line(left - 3, y, left, y, COLORS.black);
    cv.text(left - 5, y - 3, formatTick(t), COLORS.black, 1, "right");
  }
  cv.line(left, top, left, top + frame.height, COLORS.black);
  cv.line(left, top + frame.height, left + frame.width - 1, top + frame.height, COLORS.black);
  if (opts.yLabel) cv.textVertical(6, top + frame.height / 2, opts.yLabel);
  if (opts.xLabel) cv.text(left + frame.width / 2, cv.height - 10, opts.xLabel, COLORS.black, 1, "center");
  return frame;
}

/** Legend rows of coloured squares and names, wrapping across the width; returns the rows used. */
export function drawLegend(cv: RasterCanvas, top: number, items: { name: string; color: Rgb }[]): number {
  let x = 10;
  let row = 0;
  for (const it of items) {
    const w = 10 + textWidth(it.name) + 12;
    if (x + w > cv.width - 10 && x > 10) {
      x = 10;
      row++;
    }
    cv.fillRect(x, top + row * 11, 7, 7, it.color);
    cv.text(x + 10, top + row * 11, it.name);
    x += w;
  }
  return row + 1;
}

/** How many legend rows the items need at this width (so the frame can reserve space first). */
export function legendRows(width: number, names: string[]): number {
  let x = 10;
  let row = 0;
  for (const n of names) {
    const w = 10 + textWidth(n) + 12;
    if (x + w > width - 10 && x > 10) {
      x = 10;
      row++;
    }
    x += w;
  }
  return names.length ? row + 1 : 0;
}
