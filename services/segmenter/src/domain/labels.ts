import { InvalidInput } from "@synthmri/platform";
import { fromInternalLabels, type LabelScheme } from "@synthmri/volume";

export type OutputScheme = LabelScheme;

/** Internal 0..3 labels -> the requested scheme's values (brats2020: 0/1/2/4, brats2023: 0/1/2/3). */
export function toScheme(internal: Uint8Array, scheme: OutputScheme): Uint8Array {
  if (scheme !== "brats2020" && scheme !== "brats2023")
    throw new InvalidInput(`label scheme ${scheme} is not brats2020 or brats2023`);
  return fromInternalLabels(internal, scheme);
}
