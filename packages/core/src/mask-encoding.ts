// The mask encoding of the slice format (seed 000): the last channel of a uint8 slice holds the internal labels
// 0 background, 1 NCR, 2 ED, 3 ET as the levels 0/51/102/204. Ingest writes it, the generator samples and exports
// it, the segmenter trains on it and the evaluator reads it back: one table here, so none of them can drift.
// (Which BraTS label values a scheme uses, 1/2/4 or 1/2/3, is a separate mapping from these internal labels.)
import { InvalidInput } from "./errors.js";

/** Mask level on the 0-255 scale indexed by internal label: 0 bg, 1 NCR, 2 ED, 3 ET. */
export const MASK_LEVELS_255 = [0, 51, 102, 204] as const;

/** Mask values of the three tumour labels, as dataset manifests record them (background is always 0). */
export interface MaskValues {
  NCR: number;
  ED: number;
  ET: number;
}

export const SEED000_MASK_VALUES: Readonly<MaskValues> = Object.freeze({
  NCR: MASK_LEVELS_255[1],
  ED: MASK_LEVELS_255[2],
  ET: MASK_LEVELS_255[3],
});

/** Entry of `maskLut` for a byte that is not a mask value. */
export const NOT_A_MASK_VALUE = 255;

/** Mask byte -> internal label (0 bg, 1 NCR, 2 ED, 3 ET); NOT_A_MASK_VALUE for any other byte. */
export function maskLut(values: Readonly<MaskValues> = SEED000_MASK_VALUES): Uint8Array {
  const levels = [0, values.NCR, values.ED, values.ET];
  for (const v of levels)
    if (!Number.isInteger(v) || v < 0 || v > 255)
      throw new InvalidInput(`mask value ${v} must be an integer byte in 0..255`);
  if (new Set(levels).size !== levels.length)
    throw new InvalidInput(`mask values ${levels.join("/")} must be distinct (background, NCR, ED, ET)`);
  const lut = new Uint8Array(256).fill(NOT_A_MASK_VALUE);
  levels.forEach((v, label) => {
    lut[v] = label;
  });
  return lut;
}

const SEED000_LUT = maskLut();

/** Internal label of one seed-000 mask byte, or undefined when the byte is not a mask level. */
export function labelOfMaskLevel(v: number): number | undefined {
  const l = SEED000_LUT[v];
  return l === undefined || l === NOT_A_MASK_VALUE ? undefined : l;
}

/** Internal labels of one mask channel; InvalidInput naming `where` for a byte outside the encoding. */
export function maskToLabels(
  mask: Uint8Array,
  where: string,
  values: Readonly<MaskValues> = SEED000_MASK_VALUES,
): Uint8Array {
  const lut = values === SEED000_MASK_VALUES ? SEED000_LUT : maskLut(values);
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) {
    const l = lut[mask[i]];
    if (l === NOT_A_MASK_VALUE)
      throw new InvalidInput(
        `${where}: mask value ${mask[i]} is not one of 0/${values.NCR}/${values.ED}/${values.ET} (background, NCR, ED, ET); ` +
          "was the dataset imported with the seed-000 mask encoding?",
      );
    out[i] = l;
  }
  return out;
}
