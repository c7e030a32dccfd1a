// Progressive-growing schedule as a pure function of images seen: level 0 stabilises, every later level first
// fades in (alpha 0 -> 1) then stabilises; after the last level, training stays at full resolution. Being a
// pure function of the image count is what makes resume exact: a restored counter restores level and alpha.
import { InvalidInput } from "@synthmri/core";
import type { Growth } from "./model.js";

export interface ProgressiveSchedule {
  /** Images shown while a new level fades in (PGAN default 600k). */
  fadeImages: number;
  /** Images shown while a level stabilises (PGAN default 600k). */
  stabiliseImages: number;
  /** Total images to train on. */
  totalImages: number;
  /** Minibatch size per level (index = level; the last entry is reused beyond). */
  batchSizes: number[];
}

export type Phase = "stabilise" | "fade-in" | "final";

export interface SchedulePoint extends Growth {
  phase: Phase;
  batchSize: number;
}

export function validateSchedule(s: ProgressiveSchedule): void {
  for (const k of ["fadeImages", "stabiliseImages", "totalImages"] as const) {
    if (!Number.isFinite(s[k]) || s[k] < 0) throw new InvalidInput(`schedule ${k} must be a number >= 0, got ${s[k]}`);
  }
  if (s.totalImages <= 0) throw new InvalidInput("schedule totalImages must be > 0");
  if (!s.batchSizes.length || s.batchSizes.some((b) => !Number.isInteger(b) || b < 1)) {
    throw new InvalidInput(`schedule batchSizes must be positive integers, got [${s.batchSizes}]`);
  }
}

/** Where training stands after `images` images, for a model whose top level is maxLevel. */
export function scheduleAt(s: ProgressiveSchedule, maxLevel: number, images: number): SchedulePoint {
  const batch = (l: number) => s.batchSizes[Math.min(l, s.batchSizes.length - 1)];
  let rest = images - s.stabiliseImages;
  if (maxLevel === 0 || rest < 0)
    return { level: 0, alpha: 1, phase: maxLevel === 0 && rest >= 0 ? "final" : "stabilise", batchSize: batch(0) };
  for (let l = 1; l <= maxLevel; l++) {
    if (rest < s.fadeImages) return { level: l, alpha: rest / s.fadeImages, phase: "fade-in", batchSize: batch(l) };
    rest -= s.fadeImages;
    if (rest < s.stabiliseImages) return { level: l, alpha: 1, phase: "stabilise", batchSize: batch(l) };
    rest -= s.stabiliseImages;
  }
  return { level: maxLevel, alpha: 1, phase: "final", batchSize: batch(maxLevel) };
}
