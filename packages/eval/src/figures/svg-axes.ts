// Chart furniture in SVG: title, legend, y axis with grid and ticks, axis titles; returns the plot frame.
import { formatTick, niceTicks } from "./axes.js";
import { type Colour, type SvgDoc, colour } from "./svg.js";

export interface SvgFrame {
  left: number;
  top: number;
  width: number;
  height: number;
  y(v: number): number;
}

/** Rough advance of DejaVu Sans at `size` px (for layout only; the renderer measures the real text). */
export function textWidthPx(s: string, size = 12): number {
  return s.length * size * 0.6;
}

/** Legend rows needed for `names` across `width`. */
export function legendLayout(
  width: number,
  names: string[],
  size = 12,
): Array<{ name: string; x: number; row: number }> {
  const out: Array<{ name: string; x: number; row: number }> = [];
  let x = 12;
  let row = 0;
  for (const name of names) {
    const w = 18 + textWidthPx(name, size) + 16;
    if (x + w > width - 8 && x > 12) {
      row++;
      x = 12;
    }
    out.push({ name, x, row });
    x += w;
  }
  return out;
}

export function drawSvgFrame(
  doc: SvgDoc,
  opts: {
    title?: string;
    xLabel?: string;
    yLabel?: string;
    yMin: number;
    yMax: number;
    legend?: Array<{ name: string; colour: Colour }>;
    /** Extra room under the x axis (e.g. for category names and counts). */
    bottomExtra?: number;
  },
): SvgFrame {
  const legend = legendLayout(
    doc.width,
    (opts.legend ?? []).map((l) => l.name),
  );
  const legendRows = legend.length ? Math.max(...legend.map((l) => l.row)) + 1 : 0;
  const ticks = niceTicks(opts.yMin, opts.yMax, 5);
  const tickW = Math.max(0, ...ticks.map((t) => textWidthPx(formatTick(t), 12)));
  const titleH = opts.title ? 26 : 6;
  const left = (opts.yLabel ? 24 : 6) + tickW + 10;
  const top = titleH + legendRows * 18 + 10;
  const bottom = 26 + (opts.xLabel ? 20 : 0) + (opts.bottomExtra ?? 0);
  const frame: SvgFrame = {
    left,
    top,
    width: doc.width - left - 14,
    height: doc.height - top - bottom,
    y(v: number) {
      const span = opts.yMax - opts.yMin || 1;
      return top + this.height - ((v - opts.yMin) / span) * this.height;
    },
  };
  if (opts.title) doc.text(doc.width / 2, 19, opts.title, { size: 15, anchor: "middle", weight: "bold" });
  (opts.legend ?? []).forEach((l, i) => {
    const at = legend[i];
    const y = titleH + at.row * 18 + 8;
    doc.rect(at.x, y - 10, 12, 12, { fill: colour(l.colour), stroke: "#333", "stroke-width": 0.5 });
    doc.text(at.x + 17, y, l.name, { size: 12 });
  });
  for (const t of ticks) {
    const y = frame.y(t);
    doc.line(left, y, left + frame.width, y, "#e3e6ea");
    doc.line(left - 4, y, left, y, "#333");
    doc.text(left - 7, y + 4, formatTick(t), { size: 12, anchor: "end" });
  }
  doc.line(left, top, left, top + frame.height, "#333");
  doc.line(left, top + frame.height, left + frame.width, top + frame.height, "#333");
  if (opts.yLabel) doc.text(14, top + frame.height / 2, opts.yLabel, { size: 13, anchor: "middle", rotate: -90 });
  if (opts.xLabel) doc.text(left + frame.width / 2, doc.height - 8, opts.xLabel, { size: 13, anchor: "middle" });
  return frame;
}
