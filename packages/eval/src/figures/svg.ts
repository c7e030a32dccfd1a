// Figures as SVG written here (text stays text: any size, correct case, searchable), rasterised to PNG with
// resvg (a maintained Rust renderer shipped prebuilt in @resvg/resvg-js) using the DejaVu Sans files of the
// dejavu-fonts-ttf package, so a PNG looks the same on every machine whatever fonts it has installed.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Resvg } from "@resvg/resvg-js";

const require = createRequire(import.meta.url);
const FONT_DIR = join(dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
const FONT_FILES = [join(FONT_DIR, "DejaVuSans.ttf"), join(FONT_DIR, "DejaVuSans-Bold.ttf")];
export const FONT_FAMILY = "DejaVu Sans";

/** PNGs are drawn at twice the SVG's size: sharp when printed at the figure's nominal width. */
export const PNG_SCALE = 2;

export type Colour = readonly [number, number, number] | string;

export function colour(c: Colour): string {
  return typeof c === "string" ? c : `rgb(${c[0]},${c[1]},${c[2]})`;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

type Attrs = Record<string, string | number | undefined>;

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === "number" ? round(v) : escapeXml(v as string)}"`)
    .join("");
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** A minimal SVG document builder: shapes, text and embedded raster tiles. */
export class SvgDoc {
  private readonly parts: string[] = [];

  constructor(
    readonly width: number,
    readonly height: number,
    background: Colour = "#ffffff",
  ) {
    this.rect(0, 0, width, height, { fill: colour(background) });
  }

  rect(x: number, y: number, w: number, h: number, a: Attrs = {}): this {
    this.parts.push(`<rect${attrs({ x, y, width: w, height: h, ...a })}/>`);
    return this;
  }

  line(x1: number, y1: number, x2: number, y2: number, stroke: Colour = "#000", width = 1, a: Attrs = {}): this {
    this.parts.push(`<line${attrs({ x1, y1, x2, y2, stroke: colour(stroke), "stroke-width": width, ...a })}/>`);
    return this;
  }

  polyline(points: Array<[number, number]>, stroke: Colour, width = 2): this {
    const p = points.map(([x, y]) => `${round(x)},${round(y)}`).join(" ");
    this.parts.push(
      `<polyline${attrs({ points: p, fill: "none", stroke: colour(stroke), "stroke-width": width, "stroke-linejoin": "round" })}/>`,
    );
    return this;
  }

  circle(cx: number, cy: number, r: number, fill: Colour, a: Attrs = {}): this {
    this.parts.push(`<circle${attrs({ cx, cy, r, fill: colour(fill), ...a })}/>`);
    return this;
  }

  text(
    x: number,
    y: number,
    s: string,
    o: { size?: number; anchor?: "start" | "middle" | "end"; weight?: "bold"; fill?: Colour; rotate?: number } = {},
  ): this {
    const transform = o.rotate ? `rotate(${o.rotate} ${round(x)} ${round(y)})` : undefined;
    this.parts.push(
      `<text${attrs({
        x,
        y,
        "font-family": FONT_FAMILY,
        "font-size": o.size ?? 13,
        "text-anchor": o.anchor ?? "start",
        "font-weight": o.weight,
        fill: colour(o.fill ?? "#1b1f24"),
        transform,
      })}>${escapeXml(s)}</text>`,
    );
    return this;
  }

  /** A raster tile (PNG bytes) scaled to w x h with nearest-neighbour sampling (pixels stay pixels). */
  image(x: number, y: number, w: number, h: number, png: Uint8Array): this {
    const href = `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
    this.parts.push(
      `<image${attrs({ x, y, width: w, height: h, href, "image-rendering": "optimizeSpeed", preserveAspectRatio: "none" })}/>`,
    );
    return this;
  }

  toString(): string {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}">${this.parts.join("")}</svg>\n`;
  }

  toPng(scale = PNG_SCALE): Buffer {
    return svgToPng(this.toString(), scale);
  }
}

export function svgToPng(svg: string, scale = PNG_SCALE): Buffer {
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    font: { fontFiles: FONT_FILES, loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
    shapeRendering: 2,
    textRendering: 1,
  });
  return r.render().asPng();
}
