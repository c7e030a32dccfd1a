// A tiny RGBA raster canvas with exactly what the report figures need: fills, lines, rectangles, circles, text
// in the embedded 5x7 font, blitting grey/colour images, and PNG encoding through pngjs.
import { PNG } from "pngjs";
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph, textWidth } from "./font5x7.js";

export type Rgb = readonly [number, number, number];

export const COLORS = {
  white: [255, 255, 255] as Rgb,
  black: [0, 0, 0] as Rgb,
  grey: [128, 128, 128] as Rgb,
  lightGrey: [220, 220, 220] as Rgb,
  /** seed 000 Fig. 2 overlay colours. */
  ncr: [0, 200, 0] as Rgb,
  ed: [0, 90, 255] as Rgb,
  et: [255, 0, 0] as Rgb,
};

/** Distinguishable series colours (Tableau 10). */
export const PALETTE: Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

export class RasterCanvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = COLORS.white,
  ) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
      throw new RangeError(`canvas size ${width}x${height} must be positive integers`);
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** Sets one pixel; alpha in [0,1] blends over what is there. Out-of-canvas pixels are ignored. */
  setPixel(x: number, y: number, c: Rgb, alpha = 1): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const o = (yi * this.width + xi) * 4;
    if (alpha >= 1) {
      this.data[o] = c[0];
      this.data[o + 1] = c[1];
      this.data[o + 2] = c[2];
    } else {
      for (let k = 0; k < 3; k++) this.data[o + k] = Math.round(this.data[o + k] * (1 - alpha) + c[k] * alpha);
    }
    this.data[o + 3] = 255;
  }

  getPixel(x: number, y: number): [number, number, number, number] {
    const o = (y * this.width + x) * 4;
    return [this.data[o], this.data[o + 1], this.data[o + 2], this.data[o + 3]];
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb, alpha = 1): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.setPixel(xx, yy, c, alpha);
  }

  /** 1-pixel outline of the rectangle [x, x+w-1] x [y, y+h-1]. */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.line(x, y, x + w - 1, y, c);
    this.line(x, y + h - 1, x + w - 1, y + h - 1, c);
    this.line(x, y, x, y + h - 1, c);
    this.line(x + w - 1, y, x + w - 1, y + h - 1, c);
  }

  /** Bresenham line; `thickness` draws a square brush. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    let xa = Math.round(x0);
    let ya = Math.round(y0);
    const xb = Math.round(x1);
    const yb = Math.round(y1);
    const dx = Math.abs(xb - xa);
    const dy = -Math.abs(yb - ya);
    const sx = xa < xb ? 1 : -1;
    const sy = ya < yb ? 1 : -1;
    let err = dx + dy;
    const r0 = -Math.floor((thickness - 1) / 2);
    for (;;) {
      for (let a = 0; a < thickness; a++)
        for (let b = 0; b < thickness; b++) this.setPixel(xa + r0 + a, ya + r0 + b, c);
      if (xa === xb && ya === yb) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        xa += sx;
      }
      if (e2 <= dx) {
        err += dx;
        ya += sy;
      }
    }
  }

  fillCircle(cx: number, cy: number, r: number, c: Rgb): void {
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++)
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++)
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) this.setPixel(x, y, c);
  }

  /** Text with its top-left corner at (x, y); `align` positions it relative to x. */
  text(
    x: number,
    y: number,
    text: string,
    c: Rgb = COLORS.black,
    scale = 1,
    align: "left" | "center" | "right" = "left",
  ): void {
    const w = textWidth(text, scale);
    let cx = Math.round(align === "left" ? x : align === "center" ? x - w / 2 : x - w);
    const cy = Math.round(y);
    for (const ch of text) {
      const g = glyph(ch);
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++)
        for (let gx = 0; gx < GLYPH_WIDTH; gx++)
          if (g[gy * GLYPH_WIDTH + gx]) this.fillRect(cx + gx * scale, cy + gy * scale, scale, scale, c);
      cx += GLYPH_ADVANCE * scale;
    }
  }

  /** Text rotated 90° counter-clockwise (for y-axis titles), centred on (x, y). */
  textVertical(x: number, y: number, text: string, c: Rgb = COLORS.black, scale = 1): void {
    const w = textWidth(text, scale);
    let cy = Math.round(y + w / 2);
    const cx = Math.round(x - (GLYPH_HEIGHT * scale) / 2);
    for (const ch of text) {
      const g = glyph(ch);
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++)
        for (let gx = 0; gx < GLYPH_WIDTH; gx++)
          if (g[gy * GLYPH_WIDTH + gx]) this.fillRect(cx + gy * scale, cy - (gx + 1) * scale, scale, scale, c);
      cy -= GLYPH_ADVANCE * scale;
    }
  }

  /** Encodes as an 8-bit RGBA PNG. */
  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return PNG.sync.write(png);
  }
}

/** Decodes a PNG (for tests and for re-use of figures). */
export function decodePng(buf: Buffer): { width: number; height: number; data: Buffer } {
  const png = PNG.sync.read(buf);
  return { width: png.width, height: png.height, data: png.data };
}
