// Sample grid of 5-channel slices (T1, T1Gd, T2, FLAIR, mask) as in seed 000 Fig. 1/2: each image channel as a
// grey tile, then the mask as a colour overlay (NCR green, ED blue, ET red) on a grey channel. Samples are laid
// out `columns` per row.
import { InvalidInput } from "@synthmri/core";
import type { ImageSet } from "../quality/image-set.js";
import { COLORS, RasterCanvas, type Rgb } from "./canvas.js";
import { textWidth } from "./font5x7.js";

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

/** PNG of the sample grid. Each sample is (channels - 1) grey tiles + 1 overlay tile wide. */
export function sampleGrid(images: ImageSet, options: SampleGridOptions = {}): Buffer {
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
  const gap = options.gap ?? 2;
  const sampleGap = options.sampleGap ?? 8;
  const alpha = options.alpha ?? 0.6;
  const maskValues = options.maskValues ?? [0, 51, 102, 204];
  const [lo, hi] = options.valueRange ?? (data instanceof Uint8Array ? [0, 255] : [-1, 1]);
  const defaultNames = ["T1", "T1Gd", "T2", "FLAIR"];
  const names = options.channelNames ?? [...greyChannels.map((ch, i) => defaultNames[i] ?? `ch${ch}`), "mask"];
  const header = names.length ? 12 : 0;
  const tiles = greyChannels.length + 1;
  const sampleW = tiles * w + (tiles - 1) * gap;
  const width = columns * sampleW + (columns - 1) * sampleGap;
  const height = header + rows * h + (rows - 1) * sampleGap;
  const cv = new RasterCanvas(width, height, COLORS.black);
  const toByte = (v: number) => Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo || 1)) * 255)));
  const label = (v: number) => {
    let best = 0;
    for (let k = 1; k < 4; k++) if (Math.abs(v - maskValues[k]) < Math.abs(v - maskValues[best])) best = k;
    return best;
  };

  for (let col = 0; col < columns && names.length; col++)
    names.forEach((name, t) => {
      const cx = col * (sampleW + sampleGap) + t * (w + gap) + w / 2;
      // Skip titles wider than the tile rather than overprinting the neighbour.
      if (textWidth(name) <= w + gap) cv.text(cx, 2, name, COLORS.white, 1, "center");
    });

  for (let s = 0; s < n; s++) {
    const ox = (s % columns) * (sampleW + sampleGap);
    const oy = header + Math.floor(s / columns) * (h + sampleGap);
    const base = s * h * w * c;
    greyChannels.forEach((ch, t) => {
      const tx = ox + t * (w + gap);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const g = toByte(data[base + (y * w + x) * c + ch]);
          cv.setPixel(tx + x, oy + y, [g, g, g]);
        }
    });
    const tx = ox + greyChannels.length * (w + gap);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = base + (y * w + x) * c;
        const g = toByte(data[p + overlayOn]);
        cv.setPixel(tx + x, oy + y, [g, g, g]);
        const colour = LABEL_COLORS[label(toByte(data[p + maskChannel]))];
        if (colour) cv.setPixel(tx + x, oy + y, colour, alpha);
      }
  }
  return cv.toPng();
}
