// Per-subject segmentation metrics over a 3D label volume: Dice, HD95 (mm), sensitivity, specificity for NCR, ED,
// ET and the BraTS regions WT and TC. The empty-case policy is explicit and travels with every result.
import { InvalidInput } from "@synthmri/core";
import { CLASS_LABELS, MAX_LABEL, SEG_CLASSES, type SegClass } from "./classes.js";
import { cropVolume, hausdorffPercentile, type Shape3, unionBox } from "./surface-distance.js";

/**
 * - "both-empty-1" (BraTS convention, default): a class absent from both prediction and truth scores Dice 1,
 *   sensitivity 1, specificity 1 and HD95 0.
 * - "nan-excluded" (nnU-Net convention): such a class scores NaN everywhere and is excluded from means.
 * In both, a prediction with voxels where the truth has none scores Dice 0 (and likewise truth without prediction).
 */
export type EmptyPolicy = "both-empty-1" | "nan-excluded";

/**
 * HD95 when exactly one of prediction/truth is empty (the distance is undefined):
 * - "diagonal" (default): the physical diagonal of the volume in mm, the largest possible distance
 *   (BraTS 2020's evaluation uses 373.13 mm = the diagonal of 240x240x155 at 1 mm);
 * - "nan": NaN, excluded from means and counted;
 * - a number: that constant in mm.
 */
export type Hd95OneEmpty = "diagonal" | "nan" | number;

export interface SegmentationMetricOptions {
  emptyPolicy?: EmptyPolicy;
  hd95OneEmpty?: Hd95OneEmpty;
  /** Classes to compute; default all of SEG_CLASSES. */
  classes?: readonly SegClass[];
  /** Skip HD95 (the costly part) when only overlap metrics are needed, e.g. for validation during training. */
  skipHd95?: boolean;
}

export interface ClassMetrics {
  dice: number;
  /** 95th-percentile symmetric Hausdorff distance in mm. */
  hd95: number;
  /** TP / (TP + FN). */
  sensitivity: number;
  /** TN / (TN + FP). */
  specificity: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** Which empty case applied: none, both empty, only prediction empty, only truth empty. */
  emptyCase: "none" | "both" | "pred" | "truth";
}

export interface SubjectMetrics {
  subjectId: string;
  emptyPolicy: EmptyPolicy;
  hd95OneEmpty: Hd95OneEmpty;
  shape: [number, number, number];
  spacing: [number, number, number];
  classes: Partial<Record<SegClass, ClassMetrics>>;
}

export interface LabelVolume {
  /** Labels in the internal scheme (0 bg, 1 NCR, 2 ED, 3 ET), layout [z][y][x] with x fastest. */
  data: Uint8Array;
  /** [z, y, x] voxel counts. */
  shape: readonly [number, number, number];
}

export const DEFAULT_EMPTY_POLICY: EmptyPolicy = "both-empty-1";

function checkVolume(name: string, v: LabelVolume, subjectId: string): void {
  const [z, y, x] = v.shape;
  if (![z, y, x].every((d) => Number.isInteger(d) && d > 0))
    throw new InvalidInput(`subject ${subjectId}: ${name} shape [${v.shape.join(", ")}] must be 3 positive integers`);
  if (v.data.length !== z * y * x)
    throw new InvalidInput(
      `subject ${subjectId}: ${name} has ${v.data.length} voxels but shape [${v.shape.join(", ")}] needs ${z * y * x}`,
    );
  let bad = 0;
  let example = 0;
  for (let i = 0; i < v.data.length; i++)
    if (v.data[i] > MAX_LABEL) {
      bad++;
      example = v.data[i];
    }
  if (bad > 0)
    throw new InvalidInput(
      `subject ${subjectId}: ${name} has ${bad} voxels with label ${example}, outside the internal scheme ` +
        "(0 background, 1 NCR, 2 ED, 3 ET); convert BraTS label 4 to 3 before evaluating",
    );
}

function policyValue(policy: EmptyPolicy): number {
  return policy === "both-empty-1" ? 1 : Number.NaN;
}

/** Per-class metrics of one subject. Throws InvalidInput on mismatched shapes, bad spacing or unknown labels. */
export function segmentationMetrics(
  subjectId: string,
  pred: LabelVolume,
  truth: LabelVolume,
  spacing: readonly [number, number, number],
  options: SegmentationMetricOptions = {},
): SubjectMetrics {
  const emptyPolicy = options.emptyPolicy ?? DEFAULT_EMPTY_POLICY;
  const hd95OneEmpty = options.hd95OneEmpty ?? "diagonal";
  if (emptyPolicy !== "both-empty-1" && emptyPolicy !== "nan-excluded")
    throw new InvalidInput(`empty policy "${emptyPolicy}" is unknown; use "both-empty-1" or "nan-excluded"`);
  checkVolume("prediction", pred, subjectId);
  checkVolume("ground truth", truth, subjectId);
  if (pred.shape.some((d, i) => d !== truth.shape[i]))
    throw new InvalidInput(
      `subject ${subjectId}: prediction shape [${pred.shape.join(", ")}] differs from ground truth ` +
        `[${truth.shape.join(", ")}]; resample or crop the prediction to the truth's grid`,
    );
  if (spacing.length !== 3 || !spacing.every((s) => Number.isFinite(s) && s > 0))
    throw new InvalidInput(`subject ${subjectId}: spacing [${spacing.join(", ")}] must be 3 positive numbers in mm`);
  const shape = [pred.shape[0], pred.shape[1], pred.shape[2]] as Shape3;
  const sp = [spacing[0], spacing[1], spacing[2]] as Shape3;
  const diagonal = Math.hypot(shape[0] * sp[0], shape[1] * sp[1], shape[2] * sp[2]);
  const oneEmptyHd =
    hd95OneEmpty === "diagonal" ? diagonal : hd95OneEmpty === "nan" ? Number.NaN : Number(hd95OneEmpty);

  const n = pred.data.length;
  // Confusion counts for all labels at once: 4x4 table [truth][pred].
  const conf = new Float64Array((MAX_LABEL + 1) * (MAX_LABEL + 1));
  for (let i = 0; i < n; i++) conf[truth.data[i] * (MAX_LABEL + 1) + pred.data[i]]++;

  const classes: Partial<Record<SegClass, ClassMetrics>> = {};
  // Every class is inside the tumour (labels > 0) of prediction or truth: crop both to that box once, so the
  // per-class masks and distance transforms cover the tumour, not the whole head. Exact: outside the box both
  // volumes are background for every class.
  const box = unionBox(pred.data, truth.data, shape);
  const boxShape: Shape3 = box ? [box[1] - box[0], box[3] - box[2], box[5] - box[4]] : [1, 1, 1];
  const predBox = box ? cropVolume(pred.data, shape, box) : new Uint8Array(1);
  const truthBox = box ? cropVolume(truth.data, shape, box) : new Uint8Array(1);
  const nBox = predBox.length;
  const pm = new Uint8Array(nBox);
  const tm = new Uint8Array(nBox);
  for (const cls of options.classes ?? SEG_CLASSES) {
    const labels = CLASS_LABELS[cls];
    const inCls = (l: number) => labels.includes(l);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    for (let t = 0; t <= MAX_LABEL; t++)
      for (let p = 0; p <= MAX_LABEL; p++) {
        const c = conf[t * (MAX_LABEL + 1) + p];
        if (inCls(t) && inCls(p)) tp += c;
        else if (inCls(p)) fp += c;
        else if (inCls(t)) fn += c;
        else tn += c;
      }
    const predEmpty = tp + fp === 0;
    const truthEmpty = tp + fn === 0;
    const emptyCase = predEmpty && truthEmpty ? "both" : predEmpty ? "pred" : truthEmpty ? "truth" : "none";
    const pv = policyValue(emptyPolicy);
    const dice = emptyCase === "both" ? pv : (2 * tp) / (2 * tp + fp + fn);
    // Sensitivity is undefined without true tumour voxels, specificity without background: policy value then.
    const sensitivity = tp + fn === 0 ? pv : tp / (tp + fn);
    const specificity = tn + fp === 0 ? pv : tn / (tn + fp);
    let hd95: number;
    if (options.skipHd95) hd95 = Number.NaN;
    else if (emptyCase === "both") hd95 = emptyPolicy === "both-empty-1" ? 0 : Number.NaN;
    else if (emptyCase !== "none") hd95 = oneEmptyHd;
    else {
      const lut = new Uint8Array(256);
      for (const l of labels) lut[l] = 1;
      for (let i = 0; i < nBox; i++) {
        pm[i] = lut[predBox[i]];
        tm[i] = lut[truthBox[i]];
      }
      hd95 = hausdorffPercentile(pm, tm, boxShape, sp, 95) ?? oneEmptyHd;
    }
    classes[cls] = { dice, hd95, sensitivity, specificity, tp, fp, fn, tn, emptyCase };
  }
  return {
    subjectId,
    emptyPolicy,
    hd95OneEmpty,
    shape: [shape[0], shape[1], shape[2]],
    spacing: [sp[0], sp[1], sp[2]],
    classes,
  };
}
