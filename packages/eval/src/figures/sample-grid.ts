// Sample grid of 5-channel slices (T1, T1Gd, T2, FLAIR, mask) as in seed 000 Fig. 1/2: each image channel as a
// grey tile, then the mask as a colour overlay (NCR green, ED blue, ET red) on a grey channel. Samples are laid
// out `columns` per row. Drawn as SVG (text as text, a legend of the mask colours), tiles upscaled, PNG by resvg.
import { InvalidInput } from "@synthmri/core";
import type { ImageSet } from "../quality/image-set.js";
import { COLORS, RasterCanvas, type Rgb } from "./canvas.js";
import { SvgDoc } from "./svg.js";

export interface SampleGridOptions {
  /** Samples per row of the grid (default 1). */
  columns?: number;
  /** Index of the mask channel (default the last channel). */
  maskChannel?: number;
  /** Grey channel under the overlay (default 3, FLAIR, or 0 when there are fewer channels). */
  overlayOn?: number;
  /**
   * Mask intensities of background, NCR, ED, ET on the 0..255 display scale; each pixel takes the nearest one
   * (default [0, 51, 102, 204], the seed 000 encoding of BraTS labels 1, 2, 4).
   */
  maskValues?: [number, number, number, number];
  /** Overlay opacity (default 0.6). */
  alpha?: number;
  /** Input value range mapped to 0..255: default [0, 255] for uint8, [-1, 1] (a tanh generator) for float32. */
  valueRange?: [number, number];
  /** Column titles; default T1, T1Gd, T2, FLAIR, then "mask". Empty array for none. */
  channelNames?: string[];
  /** Pixels between tiles (default 2) and between samples (default 8). */
  gap?: number;
  sampleGap?: number;
}

const LABEL_COLORS: (Rgb | null)[] = [null, COLORS.ncr, COLORS.ed, COLORS.et];
const LABEL_NAMES = ["", "NCR/NET (label 1)", "ED (label 2)", "ET (label 4)"];

/** PNG of the sample grid. Each sample is (channels - 1) grey tiles + 1 overlay tile wide. */
export function sampleGrid(images: ImageSet, options: SampleGridOptions = {}): Buffer {
  return sampleGridSvg(images, options).toPng(1);
}

/**
 * The grid as SVG: tiles are embedded PNGs upscaled (nearest neighbour) to at least `minTile` px, with real
 * text column titles and a legend of the mask colours.
 */
export function sampleGridSvg(images: ImageSet, options: SampleGridOptions & { minTile?: number } = {}): SvgDoc {
  const { n, h, w, c, data } = images;
  if (!(n > 0 && h > 0 && w > 0 && c > 0) || data.length !== n * h * w * c)
    throw new InvalidInput(`sample grid: ${data.length} values do not match NHWC [${n}, ${h}, ${w}, ${c}]`);
  const maskChannel = options.maskChannel ?? c - 1;
  if (maskChannel < 0 || maskChannel >= c)
    throw new InvalidInput(`sample grid: mask channel ${maskChannel} is not in 0..${c - 1}`);
  const greyChannels = Array.from({ length: c }, (_, i) => i).filter((i) => i !== maskChannel);
  const overlayOn = options.overlayOn ?? (greyChannels.includes(3) ? 3 : (greyChannels[0] ?? maskChannel));
  const columns = Math.max(1, Math.min(n, options.columns ?? 1));
  const rows = Math.ceil(n / columns);
  const alpha = options.alpha ?? 0.6;
  const maskValues = options.maskValues ?? [0, 51, 102, 204];
  const [lo, hi] = options.valueRange ?? (data instanceof Uint8Array ? [0, 255] : [-1, 1]);
  const defaultNames = ["T1", "T1Gd", "T2", "FLAIR"];
  const names = options.channelNames ?? [...greyChannels.map((ch, i) => defaultNames[i] ?? `ch${ch}`), "mask"];
  // Small tiles (16-64 px GAN outputs) are upscaled by a whole factor so that pixels stay square and sharp.
  const zoom = Math.max(1, Math.ceil((options.minTile ?? 128) / Math.max(w, h)));
  const tw = w * zoom;
  const th = h * zoom;
  const gap = options.gap ?? 4;
  const sampleGap = options.sampleGap ?? 14;
  const header = names.length ? 24 : 4;
  const legendH = 30;
  const tiles = greyChannels.length + 1;
  const sampleW = tiles * tw + (tiles - 1) * gap;
  const width = Math.max(420, columns * sampleW + (columns - 1) * sampleGap + 8);
  const height = header + rows * th + (rows - 1) * sampleGap + legendH;
  const doc = new SvgDoc(width, height, COLORS.black);
  const toByte = (v: number) => Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo || 1)) * 255)));
  const label = (v: number) => {
    let best = 0;
    for (let k = 1; k < 4; k++) if (Math.abs(v - maskValues[k]) < Math.abs(v - maskValues[best])) best = k;
    return best;
  };
  const x0 = 4;
  for (let col = 0; col < columns && names.length; col++)
    names.forEach((name, t) => {
      const cx = x0 + col * (sampleW + sampleGap) + t * (tw + gap) + tw / 2;
      doc.text(cx, 16, name, { size: Math.min(14, Math.max(9, tw / 5)), anchor: "middle", fill: "#ffffff" });
    });

  for (let s = 0; s < n; s++) {
    const ox = x0 + (s % columns) * (sampleW + sampleGap);
    const oy = header + Math.floor(s / columns) * (th + sampleGap);
    const base = s * h * w * c;
    greyChannels.forEach((ch, t) => {
      const tile = new RasterCanvas(w, h, COLORS.black);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const g = toByte(data[base + (y * w + x) * c + ch]);
          tile.setPixel(x, y, [g, g, g]);
        }
      doc.image(ox + t * (tw + gap), oy, tw, th, tile.toPng());
    });
    const overlay = new RasterCanvas(w, h, COLORS.black);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = base + (y * w + x) * c;
        const g = toByte(data[p + overlayOn]);
        overlay.setPixel(x, y, [g, g, g]);
        const colour = LABEL_COLORS[label(toByte(data[p + maskChannel]))];
        if (colour) overlay.setPixel(x, y, colour, alpha);
      }
    doc.image(ox + greyChannels.length * (tw + gap), oy, tw, th, overlay.toPng());
  }
  // Mask colour legend.
  let lx = x0 + 4;
  const ly = height - 11;
  doc.text(lx, ly, `mask over ${names[greyChannels.indexOf(overlayOn)] ?? "image"}:`, { size: 12, fill: "#ffffff" });
  lx += 150;
  for (let k = 1; k < 4; k++) {
    const rgb = LABEL_COLORS[k] as Rgb;
    doc.rect(lx, ly - 10, 12, 12, { fill: `rgb(${rgb[0]},${rgb[1]},${rgb[2]})` });
    doc.text(lx + 16, ly, LABEL_NAMES[k], { size: 12, fill: "#ffffff" });
    lx += 26 + LABEL_NAMES[k].length * 7;
  }
  return doc;
}
