import { InvalidInput } from "@synthmri/core";

/**
 * Label schemes. Internally every segmentation is 0 background, 1 NCR (necrotic / non-enhancing
 * core), 2 ED (peritumoural oedema), 3 ET (enhancing tumour).
 */
export type LabelScheme = "brats2020" | "brats2023";

export const INTERNAL_LABELS = { background: 0, NCR: 1, ED: 2, ET: 3 } as const;

/** stored value -> internal label, per scheme */
export const LABEL_SCHEMES: Record<LabelScheme, { toInternal: Record<number, number>; describe: string }> = {
  brats2020: { toInternal: { 0: 0, 1: 1, 2: 2, 4: 3 }, describe: "brats2020 (1 NCR, 2 ED, 4 ET)" },
  brats2023: { toInternal: { 0: 0, 1: 1, 2: 2, 3: 3 }, describe: "brats2023 (1 NCR, 2 ED, 3 ET)" },
};

export function defaultLabelScheme(layout: string): LabelScheme {
  return layout === "brats2023" ? "brats2023" : "brats2020";
}

/** Map a stored segmentation to internal labels; a value outside the scheme throws naming subject, file and value. */
export function toInternalLabels(
  seg: ArrayLike<number>,
  scheme: LabelScheme,
  where: { subject: string; file?: string },
): Uint8Array {
  const map = LABEL_SCHEMES[scheme].toInternal;
  const out = new Uint8Array(seg.length);
  for (let i = 0; i < seg.length; i++) {
    const m = map[seg[i]];
    if (m === undefined) {
      throw new InvalidInput(
        `subject ${where.subject}${where.file ? `: ${where.file}` : ""}: seg label ${seg[i]} is not in scheme ${LABEL_SCHEMES[scheme].describe}`,
      );
    }
    out[i] = m;
  }
  return out;
}

/** Internal labels back to a scheme's stored values. */
export function fromInternalLabels(internal: ArrayLike<number>, scheme: LabelScheme): Uint8Array {
  const inv: number[] = [];
  for (const [stored, int] of Object.entries(LABEL_SCHEMES[scheme].toInternal)) inv[int] = Number(stored);
  const out = new Uint8Array(internal.length);
  for (let i = 0; i < internal.length; i++) {
    const v = inv[internal[i]];
    if (v === undefined) throw new InvalidInput(`internal label ${internal[i]} is not 0-3`);
    out[i] = v;
  }
  return out;
}
